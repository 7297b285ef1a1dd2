// Site-zone calendar arithmetic lives in the protocol package so the portal draws day boundaries
// with the same code the hub stores them with; the hub keeps importing it from here.
export * from '@wattfleet/protocol/zoned';
