//! What the import needs to know of the live catalog: the legacy tables'
//! columns and primary keys, and the showtree tables' columns, types,
//! defaults and enum labels.

use std::collections::BTreeMap;

use tokio_postgres::GenericClient;

use crate::ImportError;

/// One column of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// Its name.
    pub name: String,
    /// Its type as `format_type` prints it (`timestamp without time zone`,
    /// `showtree.entity_status`, `character(3)`).
    pub type_name: String,
    /// Whether it refuses NULL.
    pub not_null: bool,
    /// Its default expression, if any.
    pub default: Option<String>,
    /// Generated (`generated always as`): never written.
    pub generated: bool,
    /// The labels when the type is an enum.
    pub enum_labels: Vec<String>,
}

impl Column {
    /// The type's category for conversions.
    pub fn kind(&self) -> TypeKind {
        if !self.enum_labels.is_empty() {
            return TypeKind::Enum;
        }
        match self.type_name.as_str() {
            "timestamp without time zone" => TypeKind::Timestamp,
            "timestamp with time zone" => TypeKind::Timestamptz,
            "date" => TypeKind::Date,
            "json" | "jsonb" => TypeKind::Json,
            "uuid" => TypeKind::Uuid,
            "smallint" | "integer" | "bigint" => TypeKind::Integer,
            "boolean" => TypeKind::Boolean,
            t if t.starts_with("numeric") || t == "real" || t == "double precision" => {
                TypeKind::Numeric
            }
            t if t == "text"
                || t.starts_with("character")
                || t.starts_with("varchar")
                || t == "name"
                || t == "citext" =>
            {
                TypeKind::Text
            }
            _ => TypeKind::Other,
        }
    }
}

/// Broad type categories the conversions distinguish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeKind {
    /// `timestamp without time zone`.
    Timestamp,
    /// `timestamptz`.
    Timestamptz,
    /// `date`.
    Date,
    /// `json` or `jsonb`.
    Json,
    /// `uuid`.
    Uuid,
    /// Integers.
    Integer,
    /// `numeric`, floats.
    Numeric,
    /// Text and character types.
    Text,
    /// `boolean`.
    Boolean,
    /// An enum.
    Enum,
    /// Anything else.
    Other,
}

/// One table: its columns in order and its primary key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// Schema.
    pub schema: String,
    /// Name.
    pub name: String,
    /// Columns in attribute order.
    pub columns: Vec<Column>,
    /// Primary key columns.
    pub primary_key: Vec<String>,
}

impl Table {
    /// The column named `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// Every ordinary table of `schema`, by name.
pub async fn tables(
    c: &impl GenericClient,
    schema: &str,
) -> Result<BTreeMap<String, Table>, ImportError> {
    let rows = c
        .query(
            "select c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod),
                    a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attgenerated <> '',
                    coalesce((select array_agg(e.enumlabel::text order by e.enumsortorder)
                                from pg_enum e where e.enumtypid = a.atttypid), '{}'),
                    coalesce(a.attnum = any (p.conkey), false)
               from pg_class c
               join pg_namespace n on n.oid = c.relnamespace
               join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
               left join pg_attrdef d on d.adrelid = c.oid and d.adnum = a.attnum
               left join pg_constraint p on p.conrelid = c.oid and p.contype = 'p'
              where n.nspname = $1 and c.relkind in ('r', 'p')
              order by c.relname, a.attnum",
            &[&schema],
        )
        .await
        .map_err(ImportError::db("reading the catalog"))?;
    let mut out: BTreeMap<String, Table> = BTreeMap::new();
    for r in rows {
        let table: String = r.get(0);
        let column = Column {
            name: r.get(1),
            type_name: r.get(2),
            not_null: r.get(3),
            default: r.get(4),
            generated: r.get(5),
            enum_labels: r.get(6),
        };
        let in_pk: bool = r.get(7);
        let t = out.entry(table.clone()).or_insert_with(|| Table {
            schema: schema.to_owned(),
            name: table,
            columns: Vec::new(),
            primary_key: Vec::new(),
        });
        if in_pk {
            t.primary_key.push(column.name.clone());
        }
        t.columns.push(column);
    }
    Ok(out)
}

/// Whether `schema` exists.
pub async fn schema_exists(c: &impl GenericClient, schema: &str) -> Result<bool, ImportError> {
    Ok(c.query_one(
        "select exists (select from pg_namespace where nspname = $1)",
        &[&schema],
    )
    .await
    .map_err(ImportError::db("looking for a schema"))?
    .get(0))
}
