//! The `#[fleche]` attribute. Use it through the `fleche` crate, which documents it.
//!
//! The macro does as little as it can: it reads the signature and options, digests the
//! function's tokens, and emits calls into `fleche::__private`, where the decisions live.

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as Tokens, TokenTree};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Error, FnArg, Ident, ItemFn, LitStr, Pat, ReturnType, Type, Visibility};

mod cell;

/// Memoizes a function persistently; see the `fleche` crate documentation.
#[proc_macro_attribute]
pub fn fleche(attr: TokenStream, item: TokenStream) -> TokenStream {
    match expand(attr.into(), item.into()) {
        Ok(tokens) => tokens.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

/// Caches a block keyed by its tokens and the values it lists; see the `fleche` crate.
#[proc_macro]
pub fn cell(input: TokenStream) -> TokenStream {
    match cell::expand(input.into()) {
        Ok(tokens) => tokens.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

#[derive(Default)]
struct Options {
    version: Option<String>,
    ignore: Vec<Ident>,
    hash_code: Option<bool>,
    name: Option<String>,
    module: Option<String>,
    cache_errors: bool,
    accept_digests: bool,
    /// `meta = [Collector, ..]`: the function's own metadata collectors.
    meta: Option<Vec<syn::Expr>>,
    /// `wait = false`: compute at once even while another process computes the same call.
    no_wait: bool,
}

fn parse_options(attr: Tokens) -> syn::Result<Options> {
    let mut o = Options {
        accept_digests: true,
        ..Options::default()
    };
    let parser = syn::meta::parser(|meta| {
        let key = meta
            .path
            .get_ident()
            .map(ToString::to_string)
            .unwrap_or_default();
        match key.as_str() {
            "version" => {
                let lit: syn::Lit = meta.value()?.parse()?;
                o.version = Some(match lit {
                    syn::Lit::Str(s) => s.value(),
                    syn::Lit::Int(i) => i.base10_digits().to_owned(),
                    other => {
                        return Err(Error::new(
                            other.span(),
                            "`version` takes a string or an integer, like `version = \"2\"`",
                        ));
                    }
                });
            }
            "ignore" => {
                let value = meta.value()?;
                let content;
                syn::bracketed!(content in value);
                let names = content.parse_terminated(Ident::parse_any_ident, syn::Token![,])?;
                o.ignore.extend(names);
            }
            "hash_code" => o.hash_code = Some(meta.value()?.parse::<syn::LitBool>()?.value),
            "cache_errors" => o.cache_errors = meta.value()?.parse::<syn::LitBool>()?.value,
            "wait" => o.no_wait = !meta.value()?.parse::<syn::LitBool>()?.value,
            "accept_digests" => o.accept_digests = meta.value()?.parse::<syn::LitBool>()?.value,
            "meta" => {
                let value = meta.value()?;
                let content;
                syn::bracketed!(content in value);
                let list = content
                    .parse_terminated(<syn::Expr as syn::parse::Parse>::parse, syn::Token![,])?;
                o.meta.get_or_insert_with(Vec::new).extend(list);
            }
            "name" => o.name = Some(meta.value()?.parse::<LitStr>()?.value()),
            "module" => o.module = Some(meta.value()?.parse::<LitStr>()?.value()),
            _ => {
                return Err(meta.error(
                    "unknown #[fleche] option; expected one of: version, ignore, hash_code, name, module, cache_errors, accept_digests, wait, meta",
                ));
            }
        }
        Ok(())
    });
    syn::parse::Parser::parse2(parser, attr)?;
    Ok(o)
}

trait ParseAnyIdent: Sized {
    fn parse_any_ident(input: syn::parse::ParseStream<'_>) -> syn::Result<Self>;
}
impl ParseAnyIdent for Ident {
    fn parse_any_ident(input: syn::parse::ParseStream<'_>) -> syn::Result<Self> {
        input.parse()
    }
}

/// A parameter as the generated code needs it.
struct Param {
    ident: Ident,
    ty: Type,
    /// Owned parameters also accept `D("prefix")`.
    owned: bool,
    ignored: bool,
    is_self: bool,
    /// A `&self` receiver, already a reference.
    by_ref: bool,
}

impl Param {
    /// `&x`, or `self` for a `&self` receiver, which is already a reference.
    fn borrowed(&self) -> Tokens {
        let ident = &self.ident;
        if self.by_ref {
            quote!(#ident)
        } else {
            quote!(&#ident)
        }
    }
}

fn expand(attr: Tokens, item: Tokens) -> syn::Result<Tokens> {
    let options = parse_options(attr)?;
    let func: ItemFn = syn::parse2(item.clone()).map_err(|e| {
        Error::new(
            e.span(),
            "#[fleche] goes on a function (free or in an `impl` block)",
        )
    })?;
    check_signature(&func)?;
    let code = canonical_token_digest(&item);
    let params = collect_params(&func, &options)?;
    for ignored in &options.ignore {
        if !params.iter().any(|p| p.ident == *ignored) {
            return Err(Error::new(
                ignored.span(),
                format!("`ignore` names `{ignored}`, which is not a parameter of this function"),
            ));
        }
    }
    let in_impl = params.iter().any(|p| p.is_self);
    Ok(if in_impl {
        expand_method(&func, &options, &params, &code)
    } else {
        expand_free(&func, &options, &params, &code)
    })
}

fn check_signature(func: &ItemFn) -> syn::Result<()> {
    let sig = &func.sig;
    if let Some(a) = &sig.asyncness {
        return Err(Error::new(
            a.span(),
            "#[fleche] does not support `async fn` yet: cache a synchronous function and call it from async code",
        ));
    }
    if let Some(c) = &sig.constness {
        return Err(Error::new(c.span(), "#[fleche] cannot cache a `const fn`"));
    }
    if let Some(u) = &sig.unsafety {
        return Err(Error::new(u.span(), "#[fleche] does not cache `unsafe fn`"));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        return Err(Error::new(
            sig.generics.span(),
            "#[fleche] cannot cache a generic function: the cache key and stored types must be concrete. Write a non-generic wrapper for each type you cache",
        ));
    }
    if let Some(v) = &sig.variadic {
        return Err(Error::new(
            v.span(),
            "#[fleche] cannot cache a variadic function",
        ));
    }
    if let ReturnType::Type(_, ty) = &sig.output {
        if contains_impl_trait(ty) {
            return Err(Error::new(
                ty.span(),
                "#[fleche] needs a concrete return type to store and decode; `impl Trait` cannot be stored",
            ));
        }
        if matches!(**ty, Type::Reference(_)) {
            return Err(Error::new(
                ty.span(),
                "#[fleche] cannot return a reference from the cache: return an owned value",
            ));
        }
    }
    Ok(())
}

fn contains_impl_trait(ty: &Type) -> bool {
    ty.to_token_stream()
        .into_iter()
        .any(|t| matches!(t, TokenTree::Ident(i) if i == "impl"))
}

fn collect_params(func: &ItemFn, options: &Options) -> syn::Result<Vec<Param>> {
    let mut params = Vec::new();
    for input in &func.sig.inputs {
        match input {
            FnArg::Receiver(r) => {
                if r.mutability.is_some() && r.reference.is_some() {
                    return Err(Error::new(
                        r.span(),
                        "#[fleche] cannot cache a method taking `&mut self`: a cached call would skip the body and its changes to `self`",
                    ));
                }
                if r.colon_token.is_some() {
                    return Err(Error::new(
                        r.span(),
                        "#[fleche] supports `&self` and `self` receivers only",
                    ));
                }
                params.push(Param {
                    ident: Ident::new("self", r.self_token.span),
                    by_ref: r.reference.is_some(),
                    ty: syn::parse_quote!(Self),
                    owned: false,
                    ignored: false,
                    is_self: true,
                });
            }
            FnArg::Typed(pt) => {
                let ident = match &*pt.pat {
                    Pat::Ident(pi) if pi.subpat.is_none() && pi.by_ref.is_none() => {
                        pi.ident.clone()
                    }
                    other => {
                        return Err(Error::new(
                            other.span(),
                            "#[fleche] needs a plain parameter name here (its name is the argument's name in the cache); destructure inside the body",
                        ));
                    }
                };
                if contains_impl_trait(&pt.ty) {
                    return Err(Error::new(
                        pt.ty.span(),
                        "#[fleche] cannot cache a function with an `impl Trait` parameter: the stored argument needs a concrete type",
                    ));
                }
                let ty = (*pt.ty).clone();
                if let Type::Reference(r) = &ty
                    && r.mutability.is_some()
                {
                    return Err(Error::new(
                        ty.span(),
                        "#[fleche] cannot cache a function taking `&mut`: a cached call would skip the body and its changes",
                    ));
                }
                let owned = options.accept_digests
                    && !matches!(ty, Type::Reference(_))
                    && !mentions_lifetime(&ty);
                let ignored = options.ignore.contains(&ident);
                params.push(Param {
                    ident,
                    ty,
                    owned,
                    ignored,
                    is_self: false,
                    by_ref: false,
                });
            }
        }
    }
    Ok(params)
}

fn mentions_lifetime(ty: &Type) -> bool {
    ty.to_token_stream()
        .into_iter()
        .any(|t| matches!(t, TokenTree::Punct(p) if p.as_char() == '\''))
}

/// BLAKE3 of the function's tokens, ignoring spacing and layout, so reformatting does not
/// change it but any edit to the signature or body does.
fn canonical_token_digest(item: &Tokens) -> String {
    fn walk(tokens: Tokens, h: &mut blake3::Hasher) {
        for t in tokens {
            match t {
                TokenTree::Group(g) => {
                    let (open, close) = match g.delimiter() {
                        proc_macro2::Delimiter::Parenthesis => ("(", ")"),
                        proc_macro2::Delimiter::Brace => ("{", "}"),
                        proc_macro2::Delimiter::Bracket => ("[", "]"),
                        proc_macro2::Delimiter::None => ("\u{1}", "\u{2}"),
                    };
                    h.update(open.as_bytes());
                    walk(g.stream(), h);
                    h.update(close.as_bytes());
                }
                TokenTree::Ident(i) => {
                    h.update(b"\x03");
                    h.update(i.to_string().as_bytes());
                }
                TokenTree::Punct(p) => {
                    h.update(b"\x04");
                    h.update(p.as_char().to_string().as_bytes());
                }
                TokenTree::Literal(l) => {
                    h.update(b"\x05");
                    h.update(l.to_string().as_bytes());
                    h.update(b"\x06");
                }
            }
        }
    }
    let mut h = blake3::Hasher::new_derive_key("fleche 2026-11-27 function tokens v1");
    walk(item.clone(), &mut h);
    h.finalize().to_hex().to_string()
}

/// The `Function` static's value. In the helper module `module_path!()` names the module
/// itself, so there the parent is taken.
fn function_literal(func: &ItemFn, o: &Options, code: &str, in_helper_module: bool) -> Tokens {
    let name = o.name.clone().unwrap_or_else(|| func.sig.ident.to_string());
    let module = match &o.module {
        Some(m) => quote!(#m),
        None if in_helper_module => {
            quote!(::fleche::__private::parent_module(::core::module_path!()))
        }
        None => quote!(::core::module_path!()),
    };
    let version = match &o.version {
        Some(v) => quote!(::core::option::Option::Some(#v)),
        None => quote!(::core::option::Option::None),
    };
    let code = if o.hash_code.unwrap_or(true) {
        quote!(::core::option::Option::Some(#code))
    } else {
        quote!(::core::option::Option::None)
    };
    let cache_errors = o.cache_errors;
    let meta = o.meta.as_ref().map(|list| {
        quote! {
            .with_meta({
                fn __fleche_meta() -> ::std::vec::Vec<::fleche::meta::Attached> {
                    ::std::vec![#(::fleche::meta::Attached::new(#list)),*]
                }
                __fleche_meta
            })
        }
    });
    let wait = if o.no_wait {
        quote!(.without_waiting())
    } else {
        quote!()
    };
    quote! {
        ::fleche::__private::Function::new(#name, #module, #version, #code, #cache_errors)#wait #meta
    }
}

fn return_type(func: &ItemFn) -> Tokens {
    match &func.sig.output {
        ReturnType::Default => quote!(()),
        ReturnType::Type(_, ty) => ty.to_token_stream(),
    }
}

/// What of a function's result the cache stores.
#[derive(Clone, Copy, PartialEq)]
enum Shape {
    /// The whole value.
    Whole,
    /// A `Result` without `cache_errors`: only an `Ok` value is stored (as the `Result`), so
    /// the error type needs no serde.
    OkOnly,
    /// A `Result` with `cache_errors = true`: stored whole, errors included.
    WithErrors,
}

fn result_shape(func: &ItemFn, o: &Options) -> Shape {
    let is_result = match &func.sig.output {
        ReturnType::Type(_, ty) => match &**ty {
            Type::Path(p) => p.path.segments.last().is_some_and(|s| s.ident == "Result"),
            _ => false,
        },
        ReturnType::Default => false,
    };
    match (is_result, o.cache_errors) {
        (false, _) => Shape::Whole,
        (true, false) => Shape::OkOnly,
        (true, true) => Shape::WithErrors,
    }
}

/// The compile-time check of the return type (one error with a message that says what to
/// do), and `let __fleche_codec = ..;`, the codec of what is stored.
fn result_codec(ret: &Tokens, shape: Shape, check: bool) -> Tokens {
    let span = ret.span();
    let (ok, err) = (
        quote_spanned!(span=> <#ret as ::fleche::__private::Outcome>::Ok),
        quote_spanned!(span=> <#ret as ::fleche::__private::Outcome>::Err),
    );
    // Each check names the type that lacks serde (the `Ok` or `Err` type of a `Result`), so
    // the compiler uses its message.
    let (assert, pick) = match shape {
        Shape::Whole => (
            quote!(::fleche::__private::assert_result::<#ret>();),
            quote!(codec),
        ),
        Shape::OkOnly => (
            quote!(::fleche::__private::assert_result::<#ok>();),
            quote!(ok_codec),
        ),
        Shape::WithErrors => (
            quote! {
                ::fleche::__private::assert_result::<#ok>();
                ::fleche::__private::assert_error::<#err>();
            },
            quote!(codec),
        ),
    };
    let check = check.then_some(assert);
    quote! {
        #check
        let __fleche_codec = {
            #[allow(unused_imports)]
            use ::fleche::__private::{
                PickCodec as _, PickOkCodec as _, PickUncheckedCodec as _,
                PickUncheckedOkCodec as _,
            };
            (&::fleche::__private::Stored::<#ret>::NEW).#pick()
        };
    }
}

/// `let x: T = resolve_arg(x.into(), ..)` for owned parameters, and the outer signature.
fn outer_inputs(func: &ItemFn, params: &[Param]) -> (Vec<Tokens>, Vec<Tokens>) {
    let fname = func.sig.ident.to_string();
    let mut inputs = Vec::new();
    let mut conversions = Vec::new();
    for (input, p) in func.sig.inputs.iter().zip(params) {
        let ident = &p.ident;
        let ty = &p.ty;
        if p.is_self {
            let FnArg::Receiver(r) = input else {
                unreachable!()
            };
            let (amp, lifetime) = (
                r.reference.as_ref().map(|(a, _)| a),
                r.reference.as_ref().and_then(|(_, l)| l.as_ref()),
            );
            inputs.push(quote!(#amp #lifetime self));
        } else if p.owned {
            let pname = ident.to_string();
            inputs.push(quote!(#ident: impl ::core::convert::Into<::fleche::Arg<#ty>>));
            // Rebinding the parameter's name keeps the body's view of it unchanged.
            conversions.push(quote! {
                #[allow(clippy::shadow_reuse)]
                let #ident: #ty = ::fleche::__private::resolve_arg(
                    ::core::convert::Into::into(#ident),
                    {
                        #[allow(unused_imports)]
                        use ::fleche::__private::{PickDecoder as _, PickUncheckedDecoder as _};
                        (&::fleche::__private::Stored::<#ty>::NEW).decoder()
                    },
                    #fname,
                    #pname,
                );
            });
        } else {
            inputs.push(quote!(#ident: #ty));
        }
    }
    (inputs, conversions)
}

/// The statements that look the call up and run the body on a miss. `function` is a
/// `&'static Function` expression.
fn invoke(
    func: &ItemFn,
    o: &Options,
    params: &[Param],
    function: &Tokens,
    body_call: Tokens,
) -> Tokens {
    let ret = return_type(func);
    let checks = argument_checks(params);
    let args = argument_list(params);
    let shape = result_shape(func, o);
    let codec = result_codec(&ret, shape, true);
    let result = Ident::new("__fleche_result", Span::call_site());
    let (hit, finish) = if shape == Shape::OkOnly {
        (
            quote!(::core::result::Result::Ok(__fleche_value)),
            quote!(__fleche_pending.finish_ok(#result, &__fleche_codec)),
        )
    } else {
        (
            quote!(__fleche_value),
            quote!(__fleche_pending.finish_with(#result, &__fleche_codec)),
        )
    };
    quote! {
        #checks
        #codec
        let __fleche_begin = {
            #args
            ::fleche::__private::begin_with(#function, __fleche_args, &__fleche_codec)
        };
        match __fleche_begin {
            ::fleche::__private::Begin::Hit(__fleche_value) => #hit,
            ::fleche::__private::Begin::Uncached => #body_call,
            ::fleche::__private::Begin::Miss(__fleche_pending) => {
                let #result: #ret = #body_call;
                #finish
            }
        }
    }
}

/// One compile-time check per keyed parameter type, with a message that says what to do;
/// the generated code after it is written so that a failed check is the only error.
fn argument_checks(params: &[Param]) -> Tokens {
    let types = params.iter().filter(|p| !p.ignored).map(|p| &p.ty);
    quote!(#(::fleche::__private::assert_argument::<#types>();)*)
}

/// Declares `__fleche_args`: the keyed arguments (receiver included) as `(name, &dyn Argument)`,
/// each routed through [`CacheKey`](fleche::CacheKey) when its type has it, else serde.
fn argument_list(params: &[Param]) -> Tokens {
    let mut pairs: Vec<Tokens> = Vec::new();
    let mut lets: Vec<Tokens> = Vec::new();
    for (n, p) in params.iter().filter(|p| !p.ignored).enumerate() {
        let var = format_ident!("__fleche_arg{}", n);
        let name = p.ident.to_string();
        let borrowed = p.borrowed();
        let picked = pick_argument(&borrowed);
        lets.push(quote!(let #var = #picked;));
        pairs.push(quote!((#name, &#var as &dyn ::fleche::__private::Argument)));
    }
    quote! {
        #(#lets)*
        let __fleche_args: &[(&'static str, &dyn ::fleche::__private::Argument)] = &[#(#pairs),*];
    }
}

fn expand_free(func: &ItemFn, o: &Options, params: &[Param], code: &str) -> Tokens {
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = func;
    let ident = &sig.ident;
    let output = &sig.output;
    let (inputs, conversions) = outer_inputs(func, params);
    let inner_inputs = &sig.inputs;
    let all_idents: Vec<&Ident> = params.iter().map(|p| &p.ident).collect();
    // One `Function` static, in the helper module, serves the function and its helpers.
    let function_static = function_literal(func, o, code, true);
    let body_call = quote!(__fleche_body(#(#all_idents),*));
    let invoke = invoke(
        func,
        o,
        params,
        &quote!(&#ident::__FLECHE_FUNCTION),
        body_call,
    );

    let helper_vis = match vis {
        Visibility::Inherited => quote!(pub(super)),
        Visibility::Restricted(r) if r.path.is_ident("self") => quote!(pub(super)),
        Visibility::Restricted(_) => quote!(pub(crate)),
        Visibility::Public(_) => quote!(pub),
    };
    let helpers = cache_helpers(
        func,
        params,
        &HelperSite {
            method: false,
            vis: helper_vis.clone(),
            function: quote!(&__FLECHE_FUNCTION),
            run: quote!(super::#ident(#(#all_idents),*)),
            shape: result_shape(func, o),
        },
    );
    let doc = format!(
        "Cache helpers of [`{ident}()`](fn@{ident}): its call key, stored result and query, without running it."
    );
    let query_items = typed_query(func, params, &helper_vis);
    quote! {
        #(#attrs)*
        #vis fn #ident(#(#inputs),*) #output {
            #(#conversions)*
            #[inline(always)]
            fn __fleche_body(#inner_inputs) #output #block
            #invoke
        }

        #[doc = #doc]
        #[allow(unused_imports, dead_code)]
        #vis mod #ident {
            use super::*;

            #[doc(hidden)]
            pub(super) static __FLECHE_FUNCTION: ::fleche::__private::Function = #function_static;

            #helpers

            #query_items
        }
    }
}

fn expand_method(func: &ItemFn, o: &Options, params: &[Param], code: &str) -> Tokens {
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = func;
    let ident = &sig.ident;
    let output = &sig.output;
    let (inputs, conversions) = outer_inputs(func, params);
    let inner_inputs = &sig.inputs;
    let body_ident = format_ident!("__fleche_body_{}", ident);
    let function_ident = format_ident!("__fleche_function_{}", ident);
    let other_idents: Vec<&Ident> = params
        .iter()
        .filter(|p| !p.is_self)
        .map(|p| &p.ident)
        .collect();
    let function_static = function_literal(func, o, code, false);
    // An `impl` block cannot hold a `static`: one associated function holds the method's
    // `Function` for the method and all its helpers.
    let function = quote!(Self::#function_ident());
    let body_call = quote!(self.#body_ident(#(#other_idents),*));
    let invoke = invoke(func, o, params, &function, body_call);
    let by_ref = matches!(sig.inputs.first(), Some(FnArg::Receiver(r)) if r.reference.is_some());
    let method_queries = method_query(func, params, vis, &function, by_ref);
    // The helpers take `&self`, so a method taking `self` by value has none.
    let helpers = by_ref.then(|| {
        cache_helpers(
            func,
            params,
            &HelperSite {
                method: true,
                vis: vis.to_token_stream(),
                function: function.clone(),
                run: quote!(self.#ident(#(#other_idents),*)),
                shape: result_shape(func, o),
            },
        )
    });
    quote! {
        #(#attrs)*
        #vis fn #ident(#(#inputs),*) #output {
            #(#conversions)*
            #invoke
        }

        #[doc(hidden)]
        #[inline(always)]
        fn #body_ident(#inner_inputs) #output #block

        #[doc(hidden)]
        #[inline]
        fn #function_ident() -> &'static ::fleche::__private::Function {
            static __FLECHE_FUNCTION: ::fleche::__private::Function = #function_static;
            &__FLECHE_FUNCTION
        }

        #helpers

        #method_queries
    }
}

/// Where the cache helpers of a function go: in its helper module (`square::digest(12)`), or
/// beside a `&self` method, prefixed with its name and taking `&self`
/// (`value.compute_digest(5)`).
struct HelperSite {
    method: bool,
    vis: Tokens,
    /// A `&'static Function` expression.
    function: Tokens,
    /// Calls the cached function itself with the helper's arguments.
    run: Tokens,
    shape: Shape,
}

/// The five cache helpers: `digest`, `contains`, `load`, `call` and `rerun`.
fn cache_helpers(func: &ItemFn, params: &[Param], site: &HelperSite) -> Tokens {
    let ident = &func.sig.ident;
    let output = &func.sig.output;
    let ret = return_type(func);
    let HelperSite {
        method,
        vis,
        function,
        run,
        shape: _,
    } = site;
    let name = |helper: &str| {
        if *method {
            format_ident!("{}_{}", ident, helper)
        } else {
            format_ident!("{}", helper)
        }
    };
    let (digest, contains, load, call, rerun) = (
        name("digest"),
        name("contains"),
        name("load"),
        name("call"),
        name("rerun"),
    );
    let receiver = method.then(|| quote!(&self));
    let typed = |p: &&Param| {
        let (i, t) = (&p.ident, &p.ty);
        quote!(#i: #t)
    };
    let others = params.iter().filter(|p| !p.is_self);
    let key_inputs: Vec<Tokens> = receiver
        .iter()
        .cloned()
        .chain(others.clone().filter(|p| !p.ignored).map(|p| typed(&p)))
        .collect();
    let rerun_inputs: Vec<Tokens> = receiver
        .iter()
        .cloned()
        .chain(others.map(|p| typed(&p)))
        .collect();
    let key_args = argument_list(params);
    let codec = result_codec(&ret, site.shape, false);
    let loaded = if site.shape == Shape::OkOnly {
        quote!(.map(::core::result::Result::Ok))
    } else {
        quote!()
    };
    let what = if *method {
        format!("this call of `{ident}`")
    } else {
        format!("`{ident}(..)` with these arguments")
    };
    let doc_digest = format!("The call key of {what}; nothing runs.");
    let doc_contains = format!("Whether the active cache holds a result for {what}.");
    let doc_load = format!("The stored result of {what}, if any; nothing runs.");
    let doc_call = format!(
        "The parts of the call key of {what} (name, module, version, code digest, argument digests); nothing runs."
    );
    let doc_rerun = format!(
        "Runs {what} again and overwrites its stored result; cached calls made inside it are recomputed too."
    );
    quote! {
        #[doc = #doc_digest]
        #vis fn #digest(#(#key_inputs),*) -> ::fleche::Digest {
            #key_args
            ::fleche::__private::helper_key(#function, __fleche_args)
        }

        #[doc = #doc_contains]
        #vis fn #contains(#(#key_inputs),*) -> bool {
            #key_args
            ::fleche::__private::helper_contains(#function, __fleche_args)
        }

        #[doc = #doc_load]
        #vis fn #load(#(#key_inputs),*) -> ::core::option::Option<#ret> {
            #codec
            #key_args
            ::fleche::__private::helper_load(#function, __fleche_args, &__fleche_codec)#loaded
        }

        #[doc = #doc_call]
        #vis fn #call(#(#key_inputs),*) -> ::fleche::CallParts {
            #key_args
            ::fleche::__private::helper_call(#function, __fleche_args)
        }

        #[doc = #doc_rerun]
        #vis fn #rerun(#(#rerun_inputs),*) #output {
            ::fleche::rerun(|| #run)
        }
    }
}

/// The setter of one argument of a typed query: `value` becomes a digest exactly as the call
/// key computes it; an owned parameter also accepts `D("prefix")`.
/// An argument (a reference) as `&dyn Argument` picks its identity: [`CacheKey`] when its
/// type has it, a byte slice's fast path for `Vec<u8>` and the like, else serde. Autoref
/// dispatch: each `&` less that a `pick` impl needs is tried first.
pub(crate) fn pick_argument(value: &Tokens) -> Tokens {
    quote! {
        {
            #[allow(unused_imports)]
            use ::fleche::__private::{PickBytes as _, PickKey as _, PickSerde as _, PickUnstorable as _};
            // Every `&` counts for the dispatch, whichever impl is picked.
            #[allow(clippy::needless_borrow)]
            let __fleche_picked = (&&&::fleche::__private::Select(#value)).pick();
            __fleche_picked
        }
    }
}

fn argument_setter(p: &Param, query: &Tokens) -> (Tokens, Tokens) {
    let ident = &p.ident;
    let ty = &p.ty;
    let name = ident.to_string();
    let digest_of = |value: Tokens| {
        let picked = pick_argument(&value);
        quote! {
            {
                let __fleche_picked = #picked;
                ::fleche::__private::typed_argument(#query, #name, ::fleche::__private::Argument::digest(&__fleche_picked))
            }
        }
    };
    if p.owned {
        let digest = digest_of(quote!(&__fleche_value));
        (
            quote!(#ident: impl ::core::convert::Into<::fleche::Arg<#ty>>),
            quote! {
                match ::core::convert::Into::<::fleche::Arg<#ty>>::into(#ident) {
                    ::fleche::Arg::Value(__fleche_value) => #digest,
                    ::fleche::Arg::Digest(__fleche_prefix) => #query.argument_prefix(#name, __fleche_prefix),
                }
            },
        )
    } else {
        (quote!(#ident: #ty), digest_of(quote!(&#ident)))
    }
}

/// `query()` and its typed `Query` for the helper module of a free function.
fn typed_query(func: &ItemFn, params: &[Param], helper_vis: &Tokens) -> Tokens {
    let fname = func.sig.ident.to_string();
    let keyed: Vec<&Param> = params.iter().filter(|p| !p.ignored && !p.is_self).collect();
    let query = quote!(self.0);
    let mut setters = Vec::new();
    let mut with_inputs = Vec::new();
    let mut with_chain = Vec::new();
    for p in &keyed {
        let (input, body) = argument_setter(p, &query);
        let setter = format_ident!("arg_{}", syn::ext::IdentExt::unraw(&p.ident));
        let ident = &p.ident;
        let doc = format!(
            "Only calls whose argument `{ident}` equals this value (compared by digest; `D(\"prefix\")` names a stored value). A wrong type does not compile."
        );
        setters.push(quote! {
            #[doc = #doc]
            pub fn #setter(self, #input) -> Self {
                Self(#body)
            }
        });
        with_inputs.push(input);
        with_chain.push(quote!(.#setter(#ident)));
    }
    let query_doc = format!(
        "A query over the stored calls of [`{fname}()`](fn@super::{fname}) on the active cache, every argument a wildcard. Fix arguments with the typed setters `with(..)` (all of them) and `arg_<name>(..)` (one); these names never clash with [`fleche::Query`]'s own methods, which are all available too. Calls of every version and every edit of the function are included; `.current_only()` keeps those of the current definition."
    );
    let type_doc = format!(
        "The typed query of [`{fname}()`](fn@super::{fname}), made by [`query()`]: [`fleche::Query`] plus setters typed by the function's parameters."
    );
    quote! {
        #[doc = #query_doc]
        #helper_vis fn query() -> Query {
            Query(::fleche::__private::function_query(&__FLECHE_FUNCTION))
        }

        #[doc = #type_doc]
        #[derive(Clone)]
        #helper_vis struct Query(::fleche::Query);

        impl Query {
            /// Only calls with exactly these arguments (each compared by digest); the
            /// parameters and their types are the function's own.
            pub fn with(self, #(#with_inputs),*) -> Self {
                self #(#with_chain)*
            }

            #(#setters)*
        }

        ::fleche::__private::typed_query!(Query);
    }
}

/// `NAME_query()` and `NAME_query_with(receiver, args..)` for a method.
fn method_query(
    func: &ItemFn,
    params: &[Param],
    vis: &Visibility,
    function: &Tokens,
    by_ref: bool,
) -> Tokens {
    let ident = &func.sig.ident;
    let query_fn = format_ident!("{}_query", ident);
    let query_with = format_ident!("{}_query_with", ident);
    let query = quote!(__fleche_query);
    let mut inputs = Vec::new();
    let mut steps = Vec::new();
    for p in params.iter().filter(|p| !p.ignored) {
        if p.is_self {
            let receiver = if by_ref {
                quote!(&__fleche_receiver)
            } else {
                quote!(__fleche_receiver)
            };
            let picked_receiver = pick_argument(&receiver);
            inputs.push(quote!(__fleche_receiver: &Self));
            steps.push(quote! {
                let #query = {
                    let __fleche_picked = #picked_receiver;
                    ::fleche::__private::typed_argument(#query, "self", ::fleche::__private::Argument::digest(&__fleche_picked))
                };
            });
        } else {
            let (input, body) = argument_setter(p, &query);
            inputs.push(input);
            steps.push(quote!(let #query = #body;));
        }
    }
    let doc_all = format!(
        "A query over every stored call of the cached method `{ident}` (any receiver, any arguments, every version), on the active cache. Narrow it with [`fleche::Query`]'s methods, or use `{ident}_query_with` to fix every argument with checked types."
    );
    let doc_with = format!(
        "A query over the stored calls of the cached method `{ident}` with exactly this receiver and these arguments (compared by digest, as the call key does; types checked by the compiler)."
    );
    quote! {
        #[doc = #doc_all]
        #vis fn #query_fn() -> ::fleche::Query {
            ::fleche::__private::function_query(#function)
        }

        #[doc = #doc_with]
        #vis fn #query_with(#(#inputs),*) -> ::fleche::Query {
            let #query = ::fleche::__private::function_query(#function);
            #(#steps)*
            #query
        }
    }
}
