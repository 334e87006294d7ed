import assert from 'node:assert/strict';
import { test } from 'node:test';
import { demuxLogs, lastLines } from './demux.ts';

function frame(stream: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text, 'utf8');
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

test('demuxLogs joins stdout and stderr frames in order', () => {
  const buf = Buffer.concat([frame(1, 'out 1\n'), frame(2, 'err é\n'), frame(1, 'out 2\n')]);
  assert.equal(demuxLogs(buf), 'out 1\nerr é\nout 2\n');
});

test('demuxLogs keeps a frame split across a multibyte character intact', () => {
  const bytes = Buffer.from('日本', 'utf8');
  const a = Buffer.concat([Buffer.from([1, 0, 0, 0, 0, 0, 0, 2]), bytes.subarray(0, 2)]);
  const b = Buffer.concat([Buffer.from([1, 0, 0, 0, 0, 0, 0, 4]), bytes.subarray(2)]);
  assert.equal(demuxLogs(Buffer.concat([a, b])), '日本');
});

test('demuxLogs passes through output that is not multiplexed (TTY)', () => {
  assert.equal(demuxLogs(Buffer.from('plain text\n')), 'plain text\n');
  assert.equal(demuxLogs(Buffer.alloc(0)), '');
});

test('demuxLogs tolerates a truncated last frame', () => {
  const buf = frame(1, 'hello world');
  assert.equal(demuxLogs(buf.subarray(0, buf.length - 6)), 'hello');
});

test('lastLines returns the last N lines', () => {
  assert.equal(lastLines('a\nb\nc\n', 2), 'b\nc');
  assert.equal(lastLines('a\nb\nc', 5), 'a\nb\nc');
  assert.equal(lastLines('a\nb\n', 0), '');
});
