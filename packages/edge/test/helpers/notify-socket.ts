// A stand-in for systemd's notification socket (systemd itself cannot run here): a unix datagram
// socket that records every message, and closes the file descriptor a BARRIER=1 message carries,
// as systemd does, so `systemd-notify` returns. Node has no unix datagram sockets, so the
// receiving end is a few lines of Debian's python3.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';

const RECEIVER = `
import os, socket, sys, json
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print(json.dumps({"listening": True}), flush=True)
while True:
    msg, fds, flags, addr = socket.recv_fds(s, 4096, 8)
    for fd in fds:
        os.close(fd)
    print(json.dumps({"message": msg.decode(), "fds": len(fds)}), flush=True)
`;

export interface NotifySocket {
  path: string;
  /** Messages in arrival order, without the BARRIER=1 handshakes. */
  messages: string[];
  close(): Promise<void>;
}

export async function startNotifySocket(dir: string): Promise<NotifySocket> {
  const path = join(dir, 'notify.sock');
  const child: ChildProcess = spawn('/usr/bin/python3', ['-c', RECEIVER, path], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const messages: string[] = [];
  let buffered = '';
  let listening: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    listening = resolve;
  });
  child.stdout!.on('data', (d: Buffer) => {
    buffered += d.toString();
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      const line = JSON.parse(buffered.slice(0, nl)) as { listening?: boolean; message?: string };
      buffered = buffered.slice(nl + 1);
      if (line.listening) listening();
      else if (line.message !== undefined && line.message !== 'BARRIER=1') messages.push(line.message);
    }
  });
  await Promise.race([
    ready,
    once(child, 'exit').then(([code]) => Promise.reject(new Error(`notify stand-in exited (${code})`))),
  ]);
  return {
    path,
    messages,
    close: async () => {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}
