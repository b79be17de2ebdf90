// peer-gps103.js: the gps103 npm package (gps103@1.0.6) as a stream
// decoder, for scripts/bench-decode (not a test).
//
//   NODE_PATH=<dir>/node_modules node peer-gps103.js [file]
//
// Feeds the package's parser the byte stream of one file (or stdin) the
// way its README feeds a socket's 'data' events: one parse() per chunk,
// each chunk cut after its last ';' (the parser drops an unterminated
// tail), and writes every parsed message as one JSON line to stdout.
'use strict';
const fs = require('fs');
const Gps103 = require('gps103');

const fd = process.argv[2] ? fs.openSync(process.argv[2], 'r') : 0;
const buf = Buffer.alloc(65536);
const gps = new Gps103();
let rest = '', msgs = 0, errors = 0;

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

function feed(text) {
	try {
		gps.parse(text);
	} catch (e) {
		errors++;
	}
	let out = '';
	for (const m of gps.msgBuffer)
		out += JSON.stringify(m) + '\n';
	msgs += gps.msgBuffer.length;
	gps.clearMsgBuffer();
	if (out.length)
		writeAll(out);
}

for (;;) {
	const n = fs.readSync(fd, buf, 0, buf.length, null);
	if (n === 0)
		break;
	const text = rest + buf.toString('latin1', 0, n);
	const cut = text.lastIndexOf(';') + 1;
	rest = text.slice(cut);
	if (cut > 0)
		feed(text.slice(0, cut));
}
if (rest.length)
	feed(rest + ';');
process.stderr.write(`peer-gps103: ${msgs} messages, ${errors} parse errors\n`);
