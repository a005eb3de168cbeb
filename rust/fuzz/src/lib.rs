//! What the fuzz targets share: the invariants every encode and decode must keep (`checks`), the
//! vocabularies the encoding targets run on (`vocabs`), and the valid `tokenizer.json` documents the
//! structure-aware target edits (`json_doc`).

pub mod checks;
pub mod json_doc;
pub mod vocabs;
