/**
 * The framing without sockets: frames split at every byte boundary decode to the same frames, an
 * oversized frame is refused from its header alone; and the error registry matches the classes.
 */
import t from 'tap'
import { encodeFrames, FrameDecoder, frameHeader } from '../../src/p2p/frame.js'
import * as errors from '../../src/p2p/errors.js'

const messages = [Uint8Array.of(1, 2, 3), new Uint8Array(0), Uint8Array.from({ length: 300 }, (_, i) => i & 0xff), Uint8Array.of(9)]
const totalBytes = messages.reduce((sum, m) => sum + 4 + m.byteLength, 0)
const wire = encodeFrames(messages, totalBytes)

t.test('frames split at any two points decode to the same frames, in order', async (t) => {
  let checked = 0
  for (let i = 0; i <= wire.byteLength; i += 7) {
    for (let j = i; j <= wire.byteLength; j += 5) {
      const decoder = new FrameDecoder(1024)
      const out = [...decoder.push(wire.subarray(0, i)), ...decoder.push(wire.subarray(i, j)), ...decoder.push(wire.subarray(j))]
      if (out.length !== messages.length || out.some((m, k) => Buffer.compare(m, messages[k] as Uint8Array) !== 0)) {
        t.fail(`split at ${i} and ${j}`)
        return
      }
      if (decoder.bufferedBytes !== 0) t.fail(`bytes left over after a split at ${i} and ${j}`)
      checked++
    }
  }
  const byteByByte = new FrameDecoder(1024)
  const out: Uint8Array[] = []
  for (const byte of wire) out.push(...byteByByte.push(Uint8Array.of(byte)))
  t.same(out.map((m) => [...m]), messages.map((m) => [...m]), 'one byte at a time')
  t.ok(checked > 100, `${checked} splits`)
})

t.test('a header over the limit is refused before its body arrives', async (t) => {
  const decoder = new FrameDecoder(100)
  t.same(decoder.push(frameHeader(100).subarray(0, 3)), [])
  t.same(decoder.push(Uint8Array.of(...frameHeader(100).subarray(3), ...new Uint8Array(100))).map((m) => m.byteLength), [100], 'exactly the limit is fine')
  t.throws(() => new FrameDecoder(100).push(frameHeader(101)), { name: 'P2pFrameTooLargeError', code: 'ERR_P2P_FRAME_TOO_LARGE' })
})

t.test('p2pErrorCodes lists exactly the codes of the error classes', async (t) => {
  type ErrorClass = new (message: string, peerId: string) => Error & { code: string }
  const classes = Object.values(errors).filter((value) => typeof value === 'function') as unknown as ErrorClass[]
  const codes = classes.map((ErrorClass) => new ErrorClass('m', 'p'))
  for (const err of codes) t.match(err.name, /^P2p[A-Za-z]+Error$/)
  t.same(codes.map((err) => err.code).sort(), Object.keys(errors.p2pErrorCodes).sort())
  t.equal(new Set(codes.map((err) => err.name)).size, codes.length, 'one class per code')
})
