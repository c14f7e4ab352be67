//! Runtime of [`cell!`](crate::cell!): run a cached block, or return its stored result.
//!
//! The macro computes the key like a `#[fleche]` call (name, module, token digest, listed
//! values) through [`begin`](crate::runtime::begin); this module runs the block on a miss and
//! decides whether its result is stored.

use serde::Serialize;

use crate::runtime::Begin;

/// The block of a `cell!` as a `fn` pointer, which cannot capture. A block that reads a
/// variable it does not list fails to coerce here, and rustc's error then shows this
/// function's name beside "`x` captured here": stable Rust has no way to give a coercion
/// error a message of our own, so the name is the message.
pub const fn list_every_variable_the_block_reads<A, R>(block: fn(A) -> R) -> fn(A) -> R {
    block
}

/// Returns the stored result, or runs `body` on `values` and records the call.
///
/// `body` is a `fn` pointer, not a closure, so the block cannot read a variable it does not
/// list: a value outside the key would make a hit return a stale result. An `Err` result
/// is returned but not stored, as for `#[fleche]` functions.
pub fn run_cell<A, R: Serialize>(begin: Begin<R>, values: A, body: fn(A) -> R) -> R {
    match begin {
        Begin::Hit(value) => value,
        Begin::Uncached => body(values),
        Begin::Miss(pending) => {
            let result = body(values);
            let store = !is_err(&result);
            pending.finish(result, store)
        }
    }
}

/// Whether `value` is a `Result::Err`, seen through serde: a `Result` serializes as the enum
/// `Result` with variant `Err`. Any other shape stops at its first call, so this is cheap.
fn is_err<T: Serialize + ?Sized>(value: &T) -> bool {
    matches!(value.serialize(ErrProbe), Err(Probe::IsErr))
}

#[derive(Debug)]
enum Probe {
    IsErr,
    Other,
}

impl std::fmt::Display for Probe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("probe")
    }
}

impl std::error::Error for Probe {}

impl serde::ser::Error for Probe {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        Probe::Other
    }
}

struct ErrProbe;

type Never = serde::ser::Impossible<(), Probe>;

macro_rules! other {
    ($($name:ident($($arg:ty),*);)*) => {
        $(fn $name(self, $(_: $arg),*) -> Result<(), Probe> { Err(Probe::Other) })*
    };
}

impl serde::Serializer for ErrProbe {
    type Ok = ();
    type Error = Probe;
    type SerializeSeq = Never;
    type SerializeTuple = Never;
    type SerializeTupleStruct = Never;
    type SerializeTupleVariant = Never;
    type SerializeMap = Never;
    type SerializeStruct = Never;
    type SerializeStructVariant = Never;

    other! {
        serialize_bool(bool);
        serialize_i8(i8);
        serialize_i16(i16);
        serialize_i32(i32);
        serialize_i64(i64);
        serialize_i128(i128);
        serialize_u8(u8);
        serialize_u16(u16);
        serialize_u32(u32);
        serialize_u64(u64);
        serialize_u128(u128);
        serialize_f32(f32);
        serialize_f64(f64);
        serialize_char(char);
        serialize_str(&str);
        serialize_bytes(&[u8]);
        serialize_none();
        serialize_unit();
        serialize_unit_struct(&'static str);
        serialize_unit_variant(&'static str, u32, &'static str);
    }

    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<(), Probe> {
        Err(Probe::Other)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: &T,
    ) -> Result<(), Probe> {
        Err(Probe::Other)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        _: u32,
        variant: &'static str,
        _: &T,
    ) -> Result<(), Probe> {
        Err(if name == "Result" && variant == "Err" {
            Probe::IsErr
        } else {
            Probe::Other
        })
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Never, Probe> {
        Err(Probe::Other)
    }

    fn serialize_tuple(self, _: usize) -> Result<Never, Probe> {
        Err(Probe::Other)
    }

    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Never, Probe> {
        Err(Probe::Other)
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Never, Probe> {
        Err(Probe::Other)
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Never, Probe> {
        Err(Probe::Other)
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Never, Probe> {
        Err(Probe::Other)
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Never, Probe> {
        Err(Probe::Other)
    }
}

#[cfg(test)]
mod tests {
    use super::is_err;

    #[test]
    fn only_result_err_is_an_error() {
        assert!(is_err(&Err::<u8, String>("no".into())));
        assert!(!is_err(&Ok::<u8, String>(1)));
        assert!(!is_err(&vec![1, 2]));
        assert!(!is_err(&Some(3)));
        assert!(!is_err(&"Err"));
        #[derive(serde::Serialize)]
        enum Outcome {
            Err(u8),
        }
        assert!(!is_err(&Outcome::Err(1)), "only std's Result counts");
    }
}
