//! Quoting for the SQL the import generates: every name is quoted, every
//! constant a literal, so no mapping value is ever spliced in raw (the one
//! exception, a mapping's `filter`, is documented as SQL).

/// `name` as a quoted identifier.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `schema.name`, both quoted.
pub fn qualified(schema: &str, name: &str) -> String {
    format!("{}.{}", ident(schema), ident(name))
}

/// `value` as a string literal (standard_conforming_strings is on in
/// every supported PostgreSQL).
pub fn lit(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// A text array literal `'{...}'::text[]`.
pub fn text_array(values: &[String]) -> String {
    let items: Vec<String> = values
        .iter()
        .map(|v| format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    format!("{}::text[]", lit(&format!("{{{}}}", items.join(","))))
}

/// The name of the bookkeeping schema the import creates.
pub const SCHEMA: &str = "showtree_import";

/// `showtree_import.<name>`.
pub fn own(name: &str) -> String {
    qualified(SCHEMA, name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(lit("it's"), "'it''s'");
        assert_eq!(
            text_array(&["a".into(), "b\"c".into()]),
            "'{\"a\",\"b\\\"c\"}'::text[]"
        );
    }
}
