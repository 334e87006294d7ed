/**
 * Docker multiplexes a non-TTY container's stdout and stderr into frames: an 8-byte header
 * (stream type 0/1/2, three zero bytes, big-endian uint32 length) followed by the payload.
 */
export function demuxLogs(buf: Uint8Array): string {
  const data = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const parts: Buffer[] = [];
  let offset = 0;
  while (offset < data.length) {
    if (offset + 8 > data.length || !isHeader(data, offset)) {
      // Not multiplexed (a TTY container) or truncated: keep the rest as it is.
      parts.push(data.subarray(offset));
      break;
    }
    const size = data.readUInt32BE(offset + 4);
    parts.push(data.subarray(offset + 8, Math.min(offset + 8 + size, data.length)));
    offset += 8 + size;
  }
  return Buffer.concat(parts).toString('utf8');
}

function isHeader(data: Buffer, offset: number): boolean {
  const type = data[offset] ?? 255;
  return type <= 2 && data[offset + 1] === 0 && data[offset + 2] === 0 && data[offset + 3] === 0;
}

/** The last `tail` lines of `text` (a trailing newline does not count as an empty last line). */
export function lastLines(text: string, tail: number): string {
  if (tail <= 0) return '';
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines.slice(-tail).join('\n');
}
