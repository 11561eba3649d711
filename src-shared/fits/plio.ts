import { FitsInputError } from './errors.js';

/**
 * IRAF PLIO line-list decoding (PLIO_1 tile compression): a header of 3 or 7 16-bit words, then instructions
 * (opcode in the top 3 bits of 15, data in the low 12): zero runs, high-value runs, set/adjust the pixel value,
 * and single-pixel writes. Values up to 2^24.
 */
export function plioDecode(ll: Int16Array, npix: number, tileNo = 0): Int32Array {
  const out = new Int32Array(npix);
  if (npix <= 0) return out;
  const fail = (why: string): never => {
    throw new FitsInputError(`tile ${tileNo}: PLIO_1 data are corrupt (${why})`);
  };
  if (ll.length < 3) fail('header too short');
  // 1-based indexing as in the IRAF definition
  const L = (i: number): number => {
    if (i < 1 || i > ll.length) fail('instruction list runs past the data');
    return ll[i - 1];
  };
  let lllen: number;
  let llfirt: number;
  if (!(L(3) > 0)) {
    if (ll.length < 5) fail('header too short');
    lllen = (L(5) << 15) + L(4);
    llfirt = L(2) + 1;
  } else {
    lllen = L(3);
    llfirt = 4;
  }
  if (lllen > ll.length) fail(`list length ${lllen} exceeds the ${ll.length} words stored`);
  const xs = 1;
  const xe = xs + npix - 1;
  let skipwd = false;
  let op = 1;
  let x1 = 1;
  let pv = 1;
  for (let ip = llfirt; ip <= lllen; ip++) {
    if (skipwd) {
      skipwd = false;
      continue;
    }
    const word = L(ip);
    const opcode = Math.trunc(word / 4096);
    const data = word & 4095;
    switch (opcode) {
      case 0:
      case 4:
      case 5: {
        const x2 = x1 + data - 1;
        const i1 = Math.max(x1, xs);
        const i2 = Math.min(x2, xe);
        const np = i2 - i1 + 1;
        if (np > 0) {
          const otop = op + np - 1;
          if (opcode === 4) for (let i = op; i <= otop; i++) out[i - 1] = pv;
          else {
            for (let i = op; i <= otop; i++) out[i - 1] = 0;
            if (opcode === 5 && i2 === x2) out[otop - 1] = pv;
          }
          op = otop + 1;
        }
        x1 = x2 + 1;
        break;
      }
      case 1:
        pv = (L(ip + 1) << 12) + data;
        skipwd = true;
        break;
      case 2:
        pv += data;
        break;
      case 3:
        pv -= data;
        break;
      case 6:
      case 7:
        pv += opcode === 6 ? data : -data;
        if (x1 >= xs && x1 <= xe) {
          out[op - 1] = pv;
          op++;
        }
        x1++;
        break;
      default:
        fail(`bad opcode ${opcode}`);
    }
    if (x1 > xe) break;
  }
  return out;
}
