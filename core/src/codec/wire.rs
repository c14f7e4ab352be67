//! Low-level CBOR pieces shared by the encoder, the decoder and the inspector: item heads,
//! bignum and typed-array payloads, half-precision floats, and a validating walk that finds
//! where an item ends without decoding it.

use super::CodecError;
use super::MAX_DEPTH;
use super::elem::typed_array;

pub(crate) const UINT: u8 = 0;
pub(crate) const NINT: u8 = 1;
pub(crate) const BYTES: u8 = 2;
pub(crate) const TEXT: u8 = 3;
pub(crate) const ARRAY: u8 = 4;
pub(crate) const MAP: u8 = 5;
pub(crate) const TAG: u8 = 6;
pub(crate) const SIMPLE: u8 = 7;

/// Tag 2: unsigned bignum over a big-endian byte string.
pub(crate) const TAG_POS_BIGNUM: u64 = 2;
/// Tag 3: negative bignum, -1 - n, over a big-endian byte string.
pub(crate) const TAG_NEG_BIGNUM: u64 = 3;

/// The simple values and float markers of major type 7 (the `info` field of a head).
pub(crate) const FALSE: u8 = 20;
pub(crate) const TRUE: u8 = 21;
pub(crate) const NULL: u8 = 22;
pub(crate) const UNDEFINED: u8 = 23;
pub(crate) const SIMPLE_U8: u8 = 24;
pub(crate) const F16: u8 = 25;
pub(crate) const F32: u8 = 26;
pub(crate) const F64: u8 = 27;

/// The decoded head of one item: its major type, the 5-bit additional information, the
/// argument (value, length, tag number, simple value or float bits) and how many bytes the
/// head itself takes (1 to 9).
///
/// Sixteen bytes, so that it travels in registers: the decoder passes a head along for
/// every item it reads.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Head {
    pub arg: u64,
    pub major: u8,
    pub info: u8,
    pub size: u8,
}

impl Head {
    /// How many bytes the head itself takes.
    #[inline(always)]
    pub(crate) fn len(&self) -> usize {
        usize::from(self.size)
    }
}

/// A decoding error at a byte offset.
#[cold]
pub(crate) fn error_at(pos: usize, msg: impl std::fmt::Display) -> CodecError {
    CodecError::Decode(format!("{msg} at byte {pos}"))
}

/// The name of what a head starts, for "expected X, found Y" messages.
pub(crate) fn describe(head: &Head) -> String {
    match head.major {
        UINT => format!("integer {}", head.arg),
        NINT => format!("integer {}", -1 - i128::from(head.arg)),
        BYTES => format!("bytes ({} bytes)", head.arg),
        TEXT => "text".to_owned(),
        ARRAY => format!("array ({} items)", head.arg),
        MAP => format!("map ({} entries)", head.arg),
        TAG => match typed_array(head.arg) {
            Some((elem, _)) => format!("{elem} array"),
            None if head.arg == TAG_POS_BIGNUM || head.arg == TAG_NEG_BIGNUM => "bignum".to_owned(),
            None => format!("tag {}", head.arg),
        },
        _ => match head.info {
            FALSE => "false".to_owned(),
            TRUE => "true".to_owned(),
            NULL => "null".to_owned(),
            UNDEFINED => "undefined".to_owned(),
            F16 | F32 | F64 => "float".to_owned(),
            _ => format!("simple value {}", head.arg),
        },
    }
}

/// Reads the head of the item at `pos`.
///
/// Rejects what fleche never writes and cannot represent lazily: reserved additional
/// information (28..=30), indefinite lengths and stray breaks (31), and two-byte simple values
/// below 32 (not well-formed per RFC 8949 §3.3).
#[inline(always)]
pub(crate) fn read_head(input: &[u8], pos: usize) -> Result<Head, CodecError> {
    let Some(&first) = input.get(pos) else {
        return Err(error_at(pos, "unexpected end of input: expected an item"));
    };
    let (major, info) = (first >> 5, first & 0x1f);
    // Small integers, short strings and containers, simple values: most heads of a record.
    if info < 24 {
        return Ok(Head {
            major,
            info,
            arg: u64::from(info),
            size: 1,
        });
    }
    read_long_head(input, pos, major, info)
}

/// A head whose argument follows in 1, 2, 4 or 8 bytes, or a head fleche rejects.
#[inline(never)]
fn read_long_head(input: &[u8], pos: usize, major: u8, info: u8) -> Result<Head, CodecError> {
    let body = &input[pos + 1..];
    let short = || error_at(pos, "unexpected end of input inside an item head");
    let (arg, extra) = match info {
        24 => (u64::from(*body.first().ok_or_else(short)?), 1),
        25 => match body.first_chunk::<2>() {
            Some(b) => (u64::from(u16::from_be_bytes(*b)), 2),
            None => return Err(short()),
        },
        26 => match body.first_chunk::<4>() {
            Some(b) => (u64::from(u32::from_be_bytes(*b)), 4),
            None => return Err(short()),
        },
        27 => match body.first_chunk::<8>() {
            Some(b) => (u64::from_be_bytes(*b), 8),
            None => return Err(short()),
        },
        28..=30 => {
            return Err(error_at(
                pos,
                format_args!("reserved additional information {info}"),
            ));
        }
        _ => {
            return Err(if major == SIMPLE {
                error_at(pos, "unexpected break")
            } else {
                error_at(pos, "indefinite-length items are not supported")
            });
        }
    };
    if major == SIMPLE && info == SIMPLE_U8 && arg < 32 {
        return Err(error_at(
            pos,
            format_args!("badly encoded simple value {arg}"),
        ));
    }
    Ok(Head {
        major,
        info,
        arg,
        size: 1 + extra,
    })
}

/// Checks that `len` payload bytes follow `start` and returns the payload range end.
pub(crate) fn payload_end(input: &[u8], start: usize, len: u64) -> Result<usize, CodecError> {
    let remaining = input.len().saturating_sub(start);
    match usize::try_from(len) {
        Ok(n) if n <= remaining => Ok(start + n),
        _ => Err(error_at(
            start,
            format_args!("unexpected end of input: {len} bytes announced, {remaining} left"),
        )),
    }
}

/// Whether a tag's content must be a byte string of a particular shape.
pub(crate) fn is_special_tag(tag: u64) -> bool {
    tag == TAG_POS_BIGNUM || tag == TAG_NEG_BIGNUM || typed_array(tag).is_some()
}

/// For a bignum or typed-array tag whose head ended at `pos`: checks that a well-shaped byte
/// string follows and returns the range of its payload.
pub(crate) fn special_content(
    input: &[u8],
    pos: usize,
    tag: u64,
) -> Result<(usize, usize), CodecError> {
    let head = read_head(input, pos)?;
    if head.major != BYTES {
        return Err(error_at(
            pos,
            format_args!(
                "tag {tag} must wrap a byte string, found {}",
                describe(&head)
            ),
        ));
    }
    let start = pos + head.len();
    let end = payload_end(input, start, head.arg)?;
    if let Some((elem, _)) = typed_array(tag)
        && !(end - start).is_multiple_of(elem.size())
    {
        {
            return Err(error_at(
                pos,
                format_args!(
                    "{elem} typed array of {} bytes is not a whole number of {}-byte elements",
                    end - start,
                    elem.size()
                ),
            ));
        }
    }
    Ok((start, end))
}

/// Walks the item at `pos` head by head, without recursion or allocation, and returns the
/// offset just past it.
///
/// Arrays, maps and tags are containers: at most `depth_budget` of them may enclose one
/// another. With `check_text`, text strings must be valid UTF-8 (an item that was already
/// checked can be walked faster without).
pub(crate) fn skip(
    input: &[u8],
    pos: usize,
    depth_budget: usize,
    check_text: bool,
) -> Result<usize, CodecError> {
    // Items still to read in each open container, innermost last.
    let mut open = [0u64; MAX_DEPTH];
    let budget = depth_budget.min(MAX_DEPTH);
    let mut depth = 0usize;
    let mut pos = pos;
    loop {
        let at = pos;
        let head = read_head(input, at)?;
        pos += head.len();
        let mut children = 0u64;
        match head.major {
            BYTES => pos = payload_end(input, pos, head.arg)?,
            TEXT => {
                let end = payload_end(input, pos, head.arg)?;
                if check_text && std::str::from_utf8(&input[pos..end]).is_err() {
                    return Err(error_at(at, "text is not valid UTF-8"));
                }
                pos = end;
            }
            ARRAY | MAP | TAG => {
                if depth >= budget {
                    return Err(error_at(
                        at,
                        format_args!("nesting deeper than {MAX_DEPTH} levels"),
                    ));
                }
                let per = if head.major == MAP { 2 } else { 1 };
                let left = (input.len() - pos) as u64;
                if head.major == TAG {
                    if is_special_tag(head.arg) {
                        pos = special_content(input, pos, head.arg)?.1;
                    } else {
                        children = 1;
                    }
                } else if head.arg > left / per {
                    return Err(error_at(
                        at,
                        format_args!(
                            "{} runs past the end of the input ({left} bytes left)",
                            describe(&head)
                        ),
                    ));
                } else {
                    children = head.arg * per;
                }
            }
            _ => {}
        }
        if children > 0 {
            open[depth] = children;
            depth += 1;
            continue;
        }
        // The item is complete: close every container it completes.
        loop {
            if depth == 0 {
                return Ok(pos);
            }
            open[depth - 1] -= 1;
            if open[depth - 1] > 0 {
                break;
            }
            depth -= 1;
        }
    }
}

/// Converts IEEE 754 binary16 bits to an `f64`, exactly (NaN payloads included).
pub(crate) fn f16_to_f64(h: u16) -> f64 {
    let sign = u64::from(h >> 15) << 63;
    let exp = (h >> 10) & 0x1f;
    let mant = u64::from(h & 0x3ff);
    let magnitude = match exp {
        0 => (mant as f64) * (-24f64).exp2(),
        31 => return f64::from_bits(sign | (0x7ff << 52) | (mant << 42)),
        _ => return f64::from_bits(sign | ((u64::from(exp) + 1023 - 15) << 52) | (mant << 42)),
    };
    f64::from_bits(sign | magnitude.to_bits())
}

/// The binary16 bits of `v` if it is exactly representable (NaN payloads included).
pub(crate) fn f64_to_f16_exact(v: f64) -> Option<u16> {
    let bits = v.to_bits();
    let sign = ((bits >> 48) & 0x8000) as u16;
    let exp = ((bits >> 52) & 0x7ff) as i32;
    let mant = bits & ((1 << 52) - 1);
    if exp == 0x7ff {
        // Infinity or NaN: the payload's low 42 bits must be zero.
        return (mant & ((1 << 42) - 1) == 0).then_some(sign | 0x7c00 | (mant >> 42) as u16);
    }
    if exp == 0 {
        // Zero, or an f64 subnormal (far too small for f16).
        return (mant == 0).then_some(sign);
    }
    let e = exp - 1023;
    if (-14..=15).contains(&e) {
        return (mant & ((1 << 42) - 1) == 0)
            .then_some(sign | (((e + 15) as u16) << 10) | (mant >> 42) as u16);
    }
    if (-24..-14).contains(&e) {
        // An f16 subnormal: m * 2^-24.
        let full = mant | (1 << 52);
        let shift = (28 - e) as u32;
        return (full & ((1u64 << shift) - 1) == 0).then_some(sign | (full >> shift) as u16);
    }
    None
}

/// Widens an `f32` to `f64`, exactly (NaN payloads included).
pub(crate) fn f32_to_f64(f: f32) -> f64 {
    if f.is_nan() {
        let bits = u64::from(f.to_bits());
        f64::from_bits(((bits & 0x8000_0000) << 32) | (0x7ff << 52) | ((bits & 0x7f_ffff) << 29))
    } else {
        f64::from(f)
    }
}

/// The `f32` equal to `v` if there is one (for NaN: the same payload).
pub(crate) fn f64_to_f32_exact(v: f64) -> Option<f32> {
    if v.is_nan() {
        let bits = v.to_bits();
        let mant = bits & ((1 << 52) - 1);
        return (mant & ((1 << 29) - 1) == 0).then(|| {
            f32::from_bits((((bits >> 63) as u32) << 31) | 0x7f80_0000 | (mant >> 29) as u32)
        });
    }
    let f = v as f32;
    (f64::from(f).to_bits() == v.to_bits()).then_some(f)
}

/// Narrows an `f64` that came from an `f16` or `f32` back to `f32` (exact for such values).
pub(crate) fn f64_to_f32(v: f64) -> f32 {
    f64_to_f32_exact(v).unwrap_or(v as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_precision_round_trips_every_bit_pattern() {
        for h in 0..=u16::MAX {
            let v = f16_to_f64(h);
            assert_eq!(f64_to_f16_exact(v), Some(h), "{h:#06x} -> {v}");
        }
    }

    #[test]
    fn half_precision_rejects_inexact_values() {
        for v in [
            0.1,
            1e-8,
            65520.0,
            1.0 + f64::EPSILON,
            f64::MIN_POSITIVE,
            3.0e-8,
        ] {
            assert_eq!(f64_to_f16_exact(v), None, "{v}");
        }
        assert_eq!(f64_to_f16_exact(65504.0), Some(0x7bff));
        assert_eq!(f64_to_f16_exact(5.960464477539063e-8), Some(1));
        assert_eq!(f64_to_f16_exact(-0.0), Some(0x8000));
    }

    #[test]
    fn single_precision_nan_payloads_are_exact() {
        for bits in [0x7fc0_0000u32, 0xffc0_0001, 0x7f80_0001, 0x7fbf_ffff] {
            let f = f32::from_bits(bits);
            let wide = f32_to_f64(f);
            assert_eq!(f64_to_f32_exact(wide).map(f32::to_bits), Some(bits));
        }
    }
}
