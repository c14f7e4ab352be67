//! `cell!`: caches a block keyed by its tokens and the values it lists.
//!
//! The block runs as a closure that must coerce to a `fn` pointer, so a block that reads a
//! variable it does not list fails to compile instead of silently returning a stale result.

use proc_macro2::{Span, TokenStream as Tokens};
use quote::{format_ident, quote, quote_spanned};
use syn::parse::{Parse, ParseStream};
use syn::{Block, Error, Ident, LitStr, Token};

/// One listed value: `n` is moved (or copied) into the block, `&frame` is borrowed.
struct Item {
    ident: Ident,
    by_ref: bool,
}

struct CellInput {
    name: Option<LitStr>,
    version: Option<String>,
    items: Vec<Item>,
    block: Block,
}

const USAGE: &str = "expected `fleche::cell!(a, &b => { ... })`: the values the block reads, then `=>` and the block";

impl Parse for CellInput {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut out = CellInput {
            name: None,
            version: None,
            items: Vec::new(),
            block: Block {
                brace_token: Default::default(),
                stmts: Vec::new(),
            },
        };
        if input.peek(syn::token::Brace) {
            out.block = input.parse()?;
            return finish(input, out);
        }
        loop {
            if input.peek(Token![=>]) {
                input.parse::<Token![=>]>()?;
                break;
            }
            if input.is_empty() {
                return Err(input.error(USAGE));
            }
            if input.peek(Token![&]) && input.peek2(Token![mut]) {
                return Err(input.error(
                    "`&mut` in fleche::cell!: a cached block is skipped on a hit, so it cannot change a variable; list it as `&x` and return the new value instead",
                ));
            }
            let by_ref = input.parse::<Option<Token![&]>>()?.is_some();
            if input.peek(Token![self]) {
                return Err(input.error(
                    "fleche::cell! cannot list `self`: bind what the block needs first, e.g. `let model = &self.model;`, and list that",
                ));
            }
            let ident: Ident = input.parse().map_err(|e| {
                Error::new(
                    e.span(),
                    format!("{USAGE}; each value is a variable name, optionally with `&`"),
                )
            })?;
            if !by_ref && input.peek(Token![=]) && !input.peek(Token![=>]) {
                input.parse::<Token![=]>()?;
                match ident.to_string().as_str() {
                    "name" => out.name = Some(input.parse()?),
                    "version" => {
                        let lit: syn::Lit = input.parse()?;
                        out.version = Some(match lit {
                            syn::Lit::Str(s) => s.value(),
                            syn::Lit::Int(i) => i.base10_digits().to_owned(),
                            other => {
                                return Err(Error::new(
                                    other.span(),
                                    "`version` takes a string or an integer, like `version = 2`",
                                ));
                            }
                        });
                    }
                    _ => {
                        return Err(Error::new(
                            ident.span(),
                            "unknown fleche::cell! option; expected `name = \"...\"` or `version = ...`. To use a computed value, bind it to a variable first and list the variable",
                        ));
                    }
                }
            } else {
                if out.items.iter().any(|i| i.ident == ident) {
                    return Err(Error::new(
                        ident.span(),
                        format!("`{ident}` is listed twice"),
                    ));
                }
                out.items.push(Item { ident, by_ref });
            }
            if input.peek(Token![=>]) {
                continue;
            }
            input.parse::<Token![,]>().map_err(|e| {
                Error::new(
                    e.span(),
                    "fleche::cell! lists variable names only, separated by commas: bind an expression to a variable first (`let len = v.len();`) and list `len`",
                )
            })?;
        }
        if !input.peek(syn::token::Brace) {
            return Err(input.error("after `=>`, fleche::cell! takes a block: `=> { ... }`"));
        }
        out.block = input.parse()?;
        finish(input, out)
    }
}

fn finish(input: ParseStream<'_>, out: CellInput) -> syn::Result<CellInput> {
    if !input.is_empty() {
        return Err(input.error("unexpected tokens after the block of fleche::cell!"));
    }
    Ok(out)
}

/// Expands `cell!(..)`.
pub(crate) fn expand(input: Tokens) -> syn::Result<Tokens> {
    let CellInput {
        name,
        version,
        items,
        block,
    } = syn::parse2(input)?;
    // The key covers how values enter the block too: `n` and `&n` are different code.
    let listed = items.iter().map(|i| {
        let ident = &i.ident;
        if i.by_ref {
            quote!(& #ident ,)
        } else {
            quote!(#ident ,)
        }
    });
    let code = crate::canonical_token_digest(&quote!(cell ( #(#listed)* ) => #block));
    let name = name.map_or_else(|| "cell".to_owned(), |n| n.value());
    let version = match version {
        Some(v) => quote!(::core::option::Option::Some(#v)),
        None => quote!(::core::option::Option::None),
    };
    let values = Ident::new("__fleche_values", Span::call_site());
    let tuple_items = items.iter().map(|i| {
        let ident = &i.ident;
        if i.by_ref {
            quote!(&#ident)
        } else {
            quote!(#ident)
        }
    });
    let vars: Vec<Ident> = (0..items.len())
        .map(|n| format_ident!("__fleche_arg{}", n))
        .collect();
    let picks = items.iter().enumerate().map(|(n, i)| {
        let index = syn::Index::from(n);
        let var = &vars[n];
        // A borrowed value is digested as the value itself, so `CacheKey` applies to it.
        let value = if i.by_ref {
            quote!(#values.#index)
        } else {
            quote!(&#values.#index)
        };
        // Spanned at the listed name, so a value without serde is reported there, once.
        let check =
            quote_spanned!(i.ident.span()=> ::fleche::__private::assert_argument_value(#value););
        let picked = crate::pick_argument(&value);
        quote! {
            #check
            let #var = #picked;
        }
    });
    let names: Vec<String> = items.iter().map(|i| i.ident.to_string()).collect();
    let params = items.iter().map(|i| &i.ident);
    Ok(quote! {
        {
            static __FLECHE_CELL: ::fleche::__private::Function = ::fleche::__private::Function::new(
                #name,
                ::core::module_path!(),
                #version,
                ::core::option::Option::Some(#code),
                false,
            );
            let #values = (#(#tuple_items,)*);
            let __fleche_begin = {
                #(#picks)*
                ::fleche::__private::begin(
                    &__FLECHE_CELL,
                    &[#((#names, &#vars as &dyn ::fleche::__private::Argument)),*],
                )
            };
            ::fleche::__private::run_cell(
                __fleche_begin,
                #values,
                ::fleche::__private::list_every_variable_the_block_reads(|(#(#params,)*)| #block),
            )
        }
    })
}
