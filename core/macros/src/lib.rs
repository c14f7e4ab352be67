//! The `#[fleche]` attribute. Use it through the `fleche` crate.
use proc_macro::TokenStream;

/// Memoizes a function persistently; see the `fleche` crate.
#[proc_macro_attribute]
pub fn fleche(_attr: TokenStream, item: TokenStream) -> TokenStream {
    item
}
