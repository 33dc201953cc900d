//! Runtime metadata (V14, V15, V16) decoded into the few things resi needs, looked up by name:
//! pallet and call indices, storage prefixes/hashers/defaults, and the transaction-extension
//! list of v4 extrinsics.
//!
//! Nothing about subtensor's layout is hard-coded: a runtime upgrade that moves
//! `SubtensorModule` or renumbers a call is picked up from the node's metadata.

use crate::error::ChainError;
use crate::scale::Hasher;
use frame_metadata::{RuntimeMetadata, RuntimeMetadataPrefixed, v14};
use parity_scale_codec::Decode;
use scale_info::form::PortableForm;
use scale_info::{PortableRegistry, TypeDef};

/// One storage item of a pallet.
#[derive(Debug, Clone)]
pub struct StorageInfo {
    /// Item name (e.g. `Keys`).
    pub name: String,
    /// One hasher per key (empty for a plain value).
    pub hashers: Vec<Hasher>,
    /// Type id of the key (a tuple for multi-key maps), `None` for a plain value.
    pub key_ty: Option<u32>,
    /// Type id of the value.
    pub value_ty: u32,
    /// SCALE bytes of the value returned when the key is absent.
    pub default: Vec<u8>,
}

/// One pallet.
#[derive(Debug, Clone)]
pub struct PalletInfo {
    /// Pallet name (e.g. `SubtensorModule`).
    pub name: String,
    /// Pallet index (first byte of its calls).
    pub index: u8,
    /// Storage prefix (usually the pallet name), if the pallet has storage.
    pub storage_prefix: Option<String>,
    /// Storage items.
    pub storage: Vec<StorageInfo>,
    /// Type id of the pallet's call enum, if it has calls.
    pub call_ty: Option<u32>,
    /// Type id of the pallet's error enum, if it has errors (`DispatchError::Module` names one
    /// of its variants).
    pub error_ty: Option<u32>,
    /// The pallet's constants.
    pub constants: Vec<ConstantInfo>,
}

/// One pallet constant (e.g. `Aura.SlotDuration`).
#[derive(Debug, Clone)]
pub struct ConstantInfo {
    /// Constant name.
    pub name: String,
    /// Type id of the value.
    pub ty: u32,
    /// SCALE bytes of the value.
    pub value: Vec<u8>,
}

/// A pallet error resolved from a `DispatchError::Module` (pallet index, error index).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleErrorInfo {
    /// The pallet's name (e.g. `SubtensorModule`).
    pub pallet: String,
    /// The error's name (e.g. `SettingWeightsTooFast`).
    pub name: String,
    /// The error's documentation, joined into one line.
    pub docs: String,
}

/// One transaction extension (signed extension) of v4 extrinsics, in payload order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionInfo {
    /// Identifier (e.g. `CheckMortality`).
    pub identifier: String,
    /// Type id of the explicit part (in the extrinsic).
    pub explicit_ty: u32,
    /// Type id of the implicit part (signed, not sent).
    pub implicit_ty: u32,
}

/// A call resolved by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallInfo {
    /// Pallet index.
    pub pallet_index: u8,
    /// Call (variant) index within the pallet.
    pub call_index: u8,
    /// Argument names in order.
    pub arg_names: Vec<String>,
}

/// Decoded runtime metadata.
#[derive(Debug, Clone)]
pub struct ChainMetadata {
    version: u32,
    registry: PortableRegistry,
    pallets: Vec<PalletInfo>,
    extensions: Vec<ExtensionInfo>,
}

const META_MAGIC: &[u8] = b"meta";

fn meta_err(msg: impl Into<String>) -> ChainError {
    ChainError::Metadata(msg.into())
}

fn hasher(h: &v14::StorageHasher) -> Hasher {
    match h {
        v14::StorageHasher::Blake2_128 => Hasher::Blake2_128,
        v14::StorageHasher::Blake2_256 => Hasher::Blake2_256,
        v14::StorageHasher::Blake2_128Concat => Hasher::Blake2_128Concat,
        v14::StorageHasher::Twox128 => Hasher::Twox128,
        v14::StorageHasher::Twox256 => Hasher::Twox256,
        v14::StorageHasher::Twox64Concat => Hasher::Twox64Concat,
        v14::StorageHasher::Identity => Hasher::Identity,
    }
}

fn storage_entry(
    name: &str,
    ty: &v14::StorageEntryType<PortableForm>,
    default: &[u8],
) -> StorageInfo {
    match ty {
        v14::StorageEntryType::Plain(v) => StorageInfo {
            name: name.to_owned(),
            hashers: Vec::new(),
            key_ty: None,
            value_ty: v.id,
            default: default.to_vec(),
        },
        v14::StorageEntryType::Map {
            hashers,
            key,
            value,
        } => StorageInfo {
            name: name.to_owned(),
            hashers: hashers.iter().map(hasher).collect(),
            key_ty: Some(key.id),
            value_ty: value.id,
            default: default.to_vec(),
        },
    }
}

macro_rules! pallets_of {
    ($meta:expr) => {
        $meta
            .pallets
            .iter()
            .map(|p| PalletInfo {
                name: p.name.clone(),
                index: p.index,
                storage_prefix: p.storage.as_ref().map(|s| s.prefix.clone()),
                storage: p
                    .storage
                    .as_ref()
                    .map(|s| {
                        s.entries
                            .iter()
                            .map(|e| storage_entry(&e.name, &e.ty, &e.default))
                            .collect()
                    })
                    .unwrap_or_default(),
                call_ty: p.calls.as_ref().map(|c| c.ty.id),
                error_ty: p.error.as_ref().map(|e| e.ty.id),
                constants: p
                    .constants
                    .iter()
                    .map(|c| ConstantInfo {
                        name: c.name.clone(),
                        ty: c.ty.id,
                        value: c.value.clone(),
                    })
                    .collect(),
            })
            .collect::<Vec<_>>()
    };
}

impl ChainMetadata {
    /// Decodes metadata as `state_getMetadata` returns it (`"meta"` magic, version, body), or
    /// the same wrapped in a SCALE `Vec<u8>` (as `Metadata_metadata_at_version` returns it).
    pub fn decode(bytes: &[u8]) -> Result<Self, ChainError> {
        let owned;
        let raw = if bytes.starts_with(META_MAGIC) {
            bytes
        } else {
            owned = Vec::<u8>::decode(&mut &bytes[..])
                .map_err(|e| meta_err(format!("neither raw metadata nor a SCALE Vec<u8>: {e}")))?;
            if !owned.starts_with(META_MAGIC) {
                return Err(meta_err("missing the \"meta\" magic prefix"));
            }
            &owned[..]
        };
        let prefixed = RuntimeMetadataPrefixed::decode(&mut &raw[..])
            .map_err(|e| meta_err(format!("does not decode: {e}")))?;
        let version = prefixed.1.version();
        match prefixed.1 {
            RuntimeMetadata::V14(m) => {
                let pallets = pallets_of!(m);
                let extensions = m
                    .extrinsic
                    .signed_extensions
                    .iter()
                    .map(|e| ExtensionInfo {
                        identifier: e.identifier.clone(),
                        explicit_ty: e.ty.id,
                        implicit_ty: e.additional_signed.id,
                    })
                    .collect();
                Ok(Self {
                    version,
                    registry: m.types,
                    pallets,
                    extensions,
                })
            }
            RuntimeMetadata::V15(m) => {
                let pallets = pallets_of!(m);
                let extensions = m
                    .extrinsic
                    .signed_extensions
                    .iter()
                    .map(|e| ExtensionInfo {
                        identifier: e.identifier.clone(),
                        explicit_ty: e.ty.id,
                        implicit_ty: e.additional_signed.id,
                    })
                    .collect();
                Ok(Self {
                    version,
                    registry: m.types,
                    pallets,
                    extensions,
                })
            }
            RuntimeMetadata::V16(m) => {
                let pallets = pallets_of!(m);
                let all = &m.extrinsic.transaction_extensions;
                // v4 extrinsics use transaction-extension version 0.
                let extensions = match m.extrinsic.transaction_extensions_by_version.get(&0) {
                    Some(indices) => indices
                        .iter()
                        .map(|i| {
                            all.get(i.0 as usize).ok_or_else(|| {
                                meta_err(format!(
                                    "transaction extension index {} out of range ({} extensions)",
                                    i.0,
                                    all.len()
                                ))
                            })
                        })
                        .collect::<Result<Vec<_>, _>>()?,
                    None => all.iter().collect(),
                }
                .into_iter()
                .map(|e| ExtensionInfo {
                    identifier: e.identifier.clone(),
                    explicit_ty: e.ty.id,
                    implicit_ty: e.implicit.id,
                })
                .collect();
                Ok(Self {
                    version,
                    registry: m.types,
                    pallets,
                    extensions,
                })
            }
            _ => Err(meta_err(format!(
                "metadata version {version} is not supported (need V14, V15 or V16)"
            ))),
        }
    }

    /// The metadata version (14, 15 or 16).
    pub fn version(&self) -> u32 {
        self.version
    }

    /// All pallets.
    pub fn pallets(&self) -> &[PalletInfo] {
        &self.pallets
    }

    /// The pallet called `name`.
    pub fn pallet(&self, name: &str) -> Result<&PalletInfo, ChainError> {
        self.pallets
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| meta_err(format!("the runtime has no pallet {name}")))
    }

    /// The call `pallet.call` with its indices and argument names.
    pub fn call(&self, pallet: &str, call: &str) -> Result<CallInfo, ChainError> {
        let p = self.pallet(pallet)?;
        let ty = p
            .call_ty
            .ok_or_else(|| meta_err(format!("pallet {pallet} has no calls")))?;
        let resolved = self.registry.resolve(ty).ok_or_else(|| {
            meta_err(format!("call type {ty} of {pallet} is not in the registry"))
        })?;
        let TypeDef::Variant(v) = &resolved.type_def else {
            return Err(meta_err(format!("call type of {pallet} is not an enum")));
        };
        let variant = v
            .variants
            .iter()
            .find(|v| v.name == call)
            .ok_or_else(|| meta_err(format!("pallet {pallet} has no call {call}")))?;
        Ok(CallInfo {
            pallet_index: p.index,
            call_index: variant.index,
            arg_names: variant
                .fields
                .iter()
                .map(|f| f.name.clone().unwrap_or_default())
                .collect(),
        })
    }

    /// The storage item `pallet.item` and the pallet's storage prefix.
    pub fn storage(&self, pallet: &str, item: &str) -> Result<(&str, &StorageInfo), ChainError> {
        let p = self.pallet(pallet)?;
        let prefix = p
            .storage_prefix
            .as_deref()
            .ok_or_else(|| meta_err(format!("pallet {pallet} has no storage")))?;
        let entry = p
            .storage
            .iter()
            .find(|e| e.name == item)
            .ok_or_else(|| meta_err(format!("pallet {pallet} has no storage item {item}")))?;
        Ok((prefix, entry))
    }

    /// True if the runtime has storage item `pallet.item` (how resi tells runtime generations
    /// apart, e.g. `SubtensorModule.SubnetEpochIndex`).
    pub fn has_storage(&self, pallet: &str, item: &str) -> bool {
        self.storage(pallet, item).is_ok()
    }

    /// The constant `pallet.name`, decoded as `T` (all bytes consumed).
    pub fn constant<T: Decode>(&self, pallet: &str, name: &str) -> Result<T, ChainError> {
        let p = self.pallet(pallet)?;
        let c = p
            .constants
            .iter()
            .find(|c| c.name == name)
            .ok_or_else(|| meta_err(format!("pallet {pallet} has no constant {name}")))?;
        let mut bytes = &c.value[..];
        let value = T::decode(&mut bytes)
            .map_err(|e| meta_err(format!("constant {pallet}.{name} does not decode: {e}")))?;
        if !bytes.is_empty() {
            return Err(meta_err(format!(
                "constant {pallet}.{name} has {} trailing bytes",
                bytes.len()
            )));
        }
        Ok(value)
    }

    /// The pallet error a `DispatchError::Module { index, error }` names: the pallet with
    /// `pallet_index`, the variant `error_index` of its error enum. `None` if the runtime has no
    /// such pallet or error.
    pub fn module_error(&self, pallet_index: u8, error_index: u8) -> Option<ModuleErrorInfo> {
        let p = self.pallets.iter().find(|p| p.index == pallet_index)?;
        let ty = self.registry.resolve(p.error_ty?)?;
        let TypeDef::Variant(v) = &ty.type_def else {
            return None;
        };
        let variant = v.variants.iter().find(|v| v.index == error_index)?;
        Some(ModuleErrorInfo {
            pallet: p.name.clone(),
            name: variant.name.clone(),
            docs: variant
                .docs
                .iter()
                .map(|d| d.trim())
                .filter(|d| !d.is_empty())
                .collect::<Vec<_>>()
                .join(" "),
        })
    }

    /// The transaction extensions of v4 extrinsics, in payload order.
    pub fn extensions(&self) -> &[ExtensionInfo] {
        &self.extensions
    }

    /// The type registry.
    pub fn registry(&self) -> &PortableRegistry {
        &self.registry
    }

    /// The `::`-joined path of type `ty` (e.g. `sp_runtime::generic::era::Era`), or an empty
    /// string for unnamed types.
    pub fn type_path(&self, ty: u32) -> String {
        self.registry
            .resolve(ty)
            .map(|t| t.path.segments.join("::"))
            .unwrap_or_default()
    }

    /// True if values of type `ty` encode to zero bytes (`()`, empty structs, nested empties).
    pub fn is_zero_sized(&self, ty: u32) -> bool {
        self.zero_sized_depth(ty, 0)
    }

    fn zero_sized_depth(&self, ty: u32, depth: u32) -> bool {
        if depth > 32 {
            return false;
        }
        let Some(t) = self.registry.resolve(ty) else {
            return false;
        };
        match &t.type_def {
            TypeDef::Composite(c) => c
                .fields
                .iter()
                .all(|f| self.zero_sized_depth(f.ty.id, depth + 1)),
            TypeDef::Tuple(t) => t
                .fields
                .iter()
                .all(|f| self.zero_sized_depth(f.id, depth + 1)),
            TypeDef::Array(a) => a.len == 0 || self.zero_sized_depth(a.type_param.id, depth + 1),
            _ => false,
        }
    }
}
