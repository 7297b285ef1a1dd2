// Does a node have a control channel (an MQTT session commands can reach)? Heartbeats arrive
// only through the broker, so a recent one — and no offline status or last will since — says yes.
// A node that uploads over HTTP but never heartbeats looks alive and still gets no command.
import { type RawBuilder, type SqlBool, sql } from 'kysely';

/** SQL boolean over the `nodes` row in scope: true while the node's MQTT heartbeats are current. */
export function controlChannel(offlineAfterS: number): RawBuilder<SqlBool> {
  return sql<SqlBool>`(nodes.mqtt_seen_at IS NOT NULL AND nodes.status <> 'offline'
    AND nodes.mqtt_seen_at > now() - make_interval(secs => ${offlineAfterS}))`;
}
