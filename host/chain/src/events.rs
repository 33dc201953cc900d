//! A block's `System.Events`, decoded with the runtime's own type registry: what happened to one
//! extrinsic (success, or the failed dispatch named from the metadata) and which events it
//! emitted.
//!
//! Nothing about the event layout is hard-coded: the `Vec<EventRecord>` type comes from the
//! metadata's `System.Events` entry, and `DispatchError::Module { index, error }` is resolved to
//! the pallet's error variant by [`ChainMetadata::module_error`].

use crate::error::ChainError;
use crate::metadata::ChainMetadata;
use crate::scale;
use scale_value::{Composite, Primitive, Value, ValueDef};

/// What happened to one extrinsic of a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtrinsicEvents {
    /// `System.ExtrinsicSuccess` was emitted: `None`; `System.ExtrinsicFailed`: the error.
    pub failure: Option<DispatchFailure>,
    /// Every event of the extrinsic as `Pallet.Event`, in order.
    pub events: Vec<String>,
}

/// A failed dispatch, named from the metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DispatchFailure {
    /// The pallet whose error it is (`SubtensorModule`), or `DispatchError` for the runtime's
    /// own errors (`BadOrigin`, `Token`, ...).
    pub pallet: String,
    /// The error's name.
    pub name: String,
    /// The error's documentation.
    pub docs: String,
}

/// The storage key of `System.Events`.
pub fn events_key() -> Vec<u8> {
    scale::storage_prefix("System", "Events")
}

/// The events of extrinsic `index` in a block whose `System.Events` value is `bytes`. `None`
/// when the block has no `ExtrinsicSuccess` or `ExtrinsicFailed` for it.
pub fn extrinsic_events(
    meta: &ChainMetadata,
    bytes: &[u8],
    index: u32,
) -> Result<Option<ExtrinsicEvents>, ChainError> {
    let (_, info) = meta.storage("System", "Events")?;
    let bad = |reason: String| ChainError::StorageDecode {
        item: "System.Events".into(),
        reason,
    };
    let mut input = bytes;
    let records = scale_value::scale::decode_as_type(&mut input, info.value_ty, meta.registry())
        .map_err(|e| bad(e.to_string()))?;
    if !input.is_empty() {
        return Err(bad(format!("{} trailing bytes", input.len())));
    }
    let ValueDef::Composite(records) = records.value else {
        return Err(bad("not a sequence of event records".into()));
    };
    let mut events = Vec::new();
    let mut outcome: Option<Option<DispatchFailure>> = None;
    for record in records.into_values() {
        let Some(phase) = field(&record, "phase") else {
            return Err(bad("an event record without a phase".into()));
        };
        let ValueDef::Variant(phase) = &phase.value else {
            return Err(bad("an event phase that is not an enum".into()));
        };
        if phase.name != "ApplyExtrinsic" || first_u128(&phase.values) != Some(u128::from(index)) {
            continue;
        }
        let Some(event) = field(&record, "event") else {
            return Err(bad("an event record without an event".into()));
        };
        let ValueDef::Variant(pallet) = &event.value else {
            return Err(bad("an event that is not an enum".into()));
        };
        let Some(inner) = pallet.values.values().next() else {
            return Err(bad(format!("event of {} without a variant", pallet.name)));
        };
        let ValueDef::Variant(ev) = &inner.value else {
            return Err(bad(format!("event of {} is not an enum", pallet.name)));
        };
        events.push(format!("{}.{}", pallet.name, ev.name));
        if pallet.name == "System" {
            match ev.name.as_str() {
                "ExtrinsicSuccess" => outcome = Some(None),
                "ExtrinsicFailed" => {
                    let err = named_or_first(&ev.values, "dispatch_error")
                        .ok_or_else(|| bad("ExtrinsicFailed without dispatch_error".into()))?;
                    outcome = Some(Some(dispatch_failure(meta, err)));
                }
                _ => {}
            }
        }
    }
    Ok(outcome.map(|failure| ExtrinsicEvents { failure, events }))
}

/// Names a `DispatchError` value.
fn dispatch_failure(meta: &ChainMetadata, err: &Value<u32>) -> DispatchFailure {
    let generic = |name: String| DispatchFailure {
        pallet: "DispatchError".into(),
        name,
        docs: String::new(),
    };
    let ValueDef::Variant(v) = &err.value else {
        return generic(format!("{err}"));
    };
    if v.name != "Module" {
        // Token(FundsUnavailable), Arithmetic(Overflow), BadOrigin, ...
        let detail = match v.values.values().next().map(|x| &x.value) {
            Some(ValueDef::Variant(inner)) => format!("{}({})", v.name, inner.name),
            _ => v.name.clone(),
        };
        return generic(detail);
    }
    let module = v.values.values().next();
    let index = module
        .and_then(|m| named_or_first(composite_of(m), "index"))
        .and_then(as_u128);
    let error = module
        .and_then(|m| named_or_nth(composite_of(m), "error", 1))
        .and_then(|e| first_u128(composite_of(e)).or_else(|| as_u128(e)));
    match (index, error) {
        (Some(p), Some(e)) => match (u8::try_from(p), u8::try_from(e)) {
            (Ok(p), Ok(e)) => match meta.module_error(p, e) {
                Some(info) => DispatchFailure {
                    pallet: info.pallet,
                    name: info.name,
                    docs: info.docs,
                },
                None => generic(format!(
                    "Module(pallet {p}, error {e}) unknown to the metadata"
                )),
            },
            _ => generic(format!("Module(pallet {p}, error {e})")),
        },
        _ => generic(format!("{err}")),
    }
}

fn composite_of(v: &Value<u32>) -> &Composite<u32> {
    static EMPTY: Composite<u32> = Composite::Unnamed(Vec::new());
    match &v.value {
        ValueDef::Composite(c) => c,
        ValueDef::Variant(var) => &var.values,
        _ => &EMPTY,
    }
}

fn field<'a>(v: &'a Value<u32>, name: &str) -> Option<&'a Value<u32>> {
    match &v.value {
        ValueDef::Composite(Composite::Named(fields)) => {
            fields.iter().find(|(n, _)| n == name).map(|(_, v)| v)
        }
        _ => None,
    }
}

fn named_or_first<'a>(c: &'a Composite<u32>, name: &str) -> Option<&'a Value<u32>> {
    named_or_nth(c, name, 0)
}

fn named_or_nth<'a>(c: &'a Composite<u32>, name: &str, n: usize) -> Option<&'a Value<u32>> {
    match c {
        Composite::Named(fields) => fields.iter().find(|(k, _)| k == name).map(|(_, v)| v),
        Composite::Unnamed(values) => values.get(n),
    }
}

fn first_u128(c: &Composite<u32>) -> Option<u128> {
    c.values().next().and_then(as_u128)
}

fn as_u128(v: &Value<u32>) -> Option<u128> {
    match &v.value {
        ValueDef::Primitive(Primitive::U128(n)) => Some(*n),
        // A newtype (e.g. a one-field struct) around the number.
        ValueDef::Composite(c) if c.len() == 1 => first_u128(c),
        _ => None,
    }
}
