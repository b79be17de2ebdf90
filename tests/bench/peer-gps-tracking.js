// peer-gps-tracking.js: the gps-tracking npm package (gps-tracking@1.1.1),
// its TK103 adapter, as a stream decoder for scripts/bench-decode (not a
// test).
//
//   NODE_PATH=<dir>/node_modules node peer-gps-tracking.js [file]
//
// The package hands each socket 'data' event to a Device as one message
// and has no framer, so this driver cuts the stream into "(...)" frames
// and calls the adapter as the package's Device does: parse_data, then
// get_ping_data for a position (BR00), receive_alarm for an alarm (BO01),
// authorize for a login (BP05), run_other for the rest (the BP00
// handshake).  Replies go to a connection that counts them.  Every
// position, alarm and login is written as one JSON line to stdout.
//
// The adapter is called directly, not through the package's Device: the
// Device adds an EventEmitter dispatch and builds a log string for every
// position even with debug off, which made the package 1.8 times slower on
// our corpus.  This is the fastest way to use the package.
'use strict';
const fs = require('fs');
// The adapter's get_ping_data reads the global the package's server.js sets.
global.functions = require('gps-tracking/lib/functions');
const tk103 = require('gps-tracking/lib/adapters/tk103');

const fd = process.argv[2] ? fs.openSync(process.argv[2], 'r') : 0;
const buf = Buffer.alloc(65536);
let out = '', frames = 0, records = 0, errors = 0, replies = 0;
const device = { uid: false, send() { replies++; } };
const adapter = tk103.adapter(device);

function frame(data) {
	const parts = adapter.parse_data(data);
	if (device.uid === false)
		device.uid = parts.device_id;
	switch (parts.action) {
	case 'login_request':
		adapter.authorize(parts);
		out += JSON.stringify({ event: 'login', device_id: parts.device_id,
		    cmd: parts.cmd }) + '\n';
		records++;
		break;
	case 'ping': {
		const gps = adapter.get_ping_data(parts);
		gps.device_id = parts.device_id;
		out += JSON.stringify(gps) + '\n';
		records++;
		break;
	}
	case 'alarm':
		out += JSON.stringify({ device_id: parts.device_id, cmd: parts.cmd,
		    alarm: adapter.receive_alarm(parts) }) + '\n';
		records++;
		break;
	default:
		adapter.run_other(parts.cmd, parts);
		break;
	}
}

function writeAll(s) {
	const b = Buffer.from(s, 'latin1');
	let off = 0;
	while (off < b.length) {
		try {
			off += fs.writeSync(1, b, off, b.length - off);
		} catch (e) {
			if (e.code !== 'EAGAIN')
				throw e;
		}
	}
}

let rest = '';
for (;;) {
	const n = fs.readSync(fd, buf, 0, buf.length, null);
	if (n === 0)
		break;
	const text = rest + buf.toString('latin1', 0, n);
	let at = 0;
	for (;;) {
		const open = text.indexOf('(', at);
		if (open < 0) {
			at = text.length;
			break;
		}
		const close = text.indexOf(')', open);
		if (close < 0) {
			at = open;
			break;
		}
		frames++;
		try {
			frame(text.slice(open, close + 1));
		} catch (e) {
			errors++;
		}
		at = close + 1;
	}
	rest = text.slice(at);
	if (out.length) {
		writeAll(out);
		out = '';
	}
}
process.stderr.write(`peer-gps-tracking: ${frames} frames, ${records} records, ` +
    `${replies} replies, ${errors} errors\n`);
