//! Rows in PostgreSQL's binary COPY format, encoded on the generator's own
//! thread and handed to the connection in large chunks, so the async
//! runtime only forwards bytes (tokio-postgres's `BinaryCopyInWriter` would
//! encode on the runtime, one `await` per row).
//!
//! Each method writes one field as the server's binary receive function
//! reads it; the server checks every value (array element types, enum
//! labels, lengths), so a mismatch fails the load instead of storing junk.

use bytes::{BufMut, Bytes, BytesMut};
use tokio::sync::mpsc;
use uuid::Uuid;

/// Unix seconds of PostgreSQL's epoch, 2000-01-01T00:00:00Z.
const PG_EPOCH_SECS: i64 = 946_684_800;
/// Unix days of PostgreSQL's epoch.
const PG_EPOCH_DAYS: i32 = 10_957;
/// The oid of `uuid`, named in array headers.
const UUID_OID: u32 = 2950;
/// Bytes buffered before a chunk is handed over.
const CHUNK: usize = 256 * 1024;
/// The binary COPY signature.
const SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";

/// The COPY ended (it failed, and the loader says why) before the generator did.
#[derive(Debug)]
pub(crate) struct Closed;

/// One COPY's stream of rows.
#[derive(Debug)]
pub(crate) struct CopyWriter {
    buf: BytesMut,
    tx: mpsc::Sender<(Bytes, u64)>,
    rows: u64,
    /// Rows in `buf` (for the progress bar).
    buffered: u64,
    /// Fields the current row announced, and written so far.
    fields: (i16, i16),
}

impl CopyWriter {
    /// Starts a stream (header first) whose chunks, with the number of
    /// rows each ends, go to `tx`.
    pub(crate) fn new(tx: mpsc::Sender<(Bytes, u64)>) -> CopyWriter {
        let mut buf = BytesMut::with_capacity(CHUNK + 4096);
        buf.put_slice(SIGNATURE);
        buf.put_i32(0); // flags: no oids
        buf.put_i32(0); // no header extension
        CopyWriter {
            buf,
            tx,
            rows: 0,
            buffered: 0,
            fields: (0, 0),
        }
    }

    /// Starts a row of `fields` fields.
    pub(crate) fn row(&mut self, fields: i16) -> &mut Self {
        self.buf.put_i16(fields);
        self.fields = (fields, 0);
        self
    }

    fn field(&mut self, len: usize) -> &mut BytesMut {
        self.fields.1 += 1;
        // Field lengths are i32; nothing generated comes near 2 GiB.
        self.buf.put_i32(i32::try_from(len).unwrap_or(i32::MAX));
        &mut self.buf
    }

    /// A null.
    pub(crate) fn null(&mut self) -> &mut Self {
        self.fields.1 += 1;
        self.buf.put_i32(-1);
        self
    }

    /// `uuid`.
    pub(crate) fn uuid(&mut self, v: Uuid) -> &mut Self {
        self.field(16).put_slice(v.as_bytes());
        self
    }

    /// `uuid`, or null.
    pub(crate) fn opt_uuid(&mut self, v: Option<Uuid>) -> &mut Self {
        match v {
            Some(v) => self.uuid(v),
            None => self.null(),
        }
    }

    /// `text`, `char(n)` or an enum label.
    pub(crate) fn text(&mut self, v: &str) -> &mut Self {
        self.field(v.len()).put_slice(v.as_bytes());
        self
    }

    /// Text, or null.
    pub(crate) fn opt_text(&mut self, v: Option<&str>) -> &mut Self {
        match v {
            Some(v) => self.text(v),
            None => self.null(),
        }
    }

    /// `smallint`.
    pub(crate) fn i16(&mut self, v: i16) -> &mut Self {
        self.field(2).put_i16(v);
        self
    }

    /// `integer`.
    pub(crate) fn i32(&mut self, v: i32) -> &mut Self {
        self.field(4).put_i32(v);
        self
    }

    /// `integer`, or null.
    pub(crate) fn opt_i32(&mut self, v: Option<i32>) -> &mut Self {
        match v {
            Some(v) => self.i32(v),
            None => self.null(),
        }
    }

    /// `bigint`.
    pub(crate) fn i64(&mut self, v: i64) -> &mut Self {
        self.field(8).put_i64(v);
        self
    }

    /// `bigint`, or null.
    pub(crate) fn opt_i64(&mut self, v: Option<i64>) -> &mut Self {
        match v {
            Some(v) => self.i64(v),
            None => self.null(),
        }
    }

    /// `boolean`.
    pub(crate) fn bool(&mut self, v: bool) -> &mut Self {
        self.field(1).put_u8(u8::from(v));
        self
    }

    /// `timestamptz` from Unix seconds.
    pub(crate) fn ts(&mut self, unix_secs: i64) -> &mut Self {
        self.field(8)
            .put_i64((unix_secs - PG_EPOCH_SECS) * 1_000_000);
        self
    }

    /// `timestamptz`, or null.
    pub(crate) fn opt_ts(&mut self, unix_secs: Option<i64>) -> &mut Self {
        match unix_secs {
            Some(v) => self.ts(v),
            None => self.null(),
        }
    }

    /// `date` from Unix days.
    pub(crate) fn date(&mut self, unix_days: i32) -> &mut Self {
        self.field(4).put_i32(unix_days - PG_EPOCH_DAYS);
        self
    }

    /// `jsonb` from its text.
    pub(crate) fn jsonb(&mut self, json: &str) -> &mut Self {
        let buf = self.field(json.len() + 1);
        buf.put_u8(1); // jsonb binary format version
        buf.put_slice(json.as_bytes());
        self
    }

    /// `numeric` holding `thousandths / 1000` with scale 3 (as `numeric(14, 3)`
    /// prints it).
    pub(crate) fn numeric_milli(&mut self, thousandths: i64) -> &mut Self {
        let digits = numeric_digits(thousandths);
        let buf = self.field(8 + 2 * digits.digits.len());
        buf.put_i16(i16::try_from(digits.digits.len()).unwrap_or(i16::MAX));
        buf.put_i16(digits.weight);
        buf.put_u16(if thousandths < 0 { 0x4000 } else { 0 });
        buf.put_u16(3); // display scale
        for d in &digits.digits {
            buf.put_i16(*d);
        }
        self
    }

    /// `uuid[]`, one dimension, no nulls.
    pub(crate) fn uuid_array(&mut self, v: &[Uuid]) -> &mut Self {
        let len = i32::try_from(v.len()).unwrap_or(i32::MAX);
        let buf = if v.is_empty() {
            let buf = self.field(12);
            buf.put_i32(0); // no dimensions
            buf
        } else {
            let buf = self.field(20 + 20 * v.len());
            buf.put_i32(1); // one dimension
            buf
        };
        buf.put_i32(0); // no nulls
        buf.put_u32(UUID_OID);
        if !v.is_empty() {
            buf.put_i32(len);
            buf.put_i32(1); // lower bound
            for id in v {
                buf.put_i32(16);
                buf.put_slice(id.as_bytes());
            }
        }
        self
    }

    /// Ends the row; hands over a chunk when enough is buffered.
    pub(crate) fn end_row(&mut self) -> Result<(), Closed> {
        debug_assert_eq!(self.fields.0, self.fields.1, "fields written in a row");
        self.rows += 1;
        self.buffered += 1;
        if self.buf.len() >= CHUNK {
            self.flush()?;
        }
        Ok(())
    }

    /// Ends the stream; returns the rows written.
    pub(crate) fn finish(mut self) -> Result<u64, Closed> {
        self.buf.put_i16(-1);
        self.flush()?;
        Ok(self.rows)
    }

    fn flush(&mut self) -> Result<(), Closed> {
        let chunk = self.buf.split().freeze();
        let rows = std::mem::take(&mut self.buffered);
        self.tx.blocking_send((chunk, rows)).map_err(|_| Closed)
    }
}

/// A numeric's base-10000 digits and the weight of the first one.
struct NumericDigits {
    weight: i16,
    digits: Vec<i16>,
}

fn numeric_digits(thousandths: i64) -> NumericDigits {
    let abs = thousandths.unsigned_abs();
    let (mut int, frac) = (abs / 1000, abs % 1000);
    let mut groups = Vec::new();
    while int > 0 {
        groups.push((int % 10_000) as i16);
        int /= 10_000;
    }
    groups.reverse();
    // the integer groups sit at weights len-1 .. 0, the fraction at -1
    let mut weight = i16::try_from(groups.len()).unwrap_or(i16::MAX) - 1;
    let mut digits = groups;
    digits.push((frac * 10) as i16);
    while digits.last() == Some(&0) {
        digits.pop();
    }
    while digits.first() == Some(&0) {
        digits.remove(0);
        weight -= 1;
    }
    if digits.is_empty() {
        weight = 0;
    }
    NumericDigits { weight, digits }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digits(v: i64) -> (i16, Vec<i16>) {
        let d = numeric_digits(v);
        (d.weight, d.digits)
    }

    #[test]
    fn numerics_are_base_10000_digits() {
        assert_eq!(digits(0), (0, vec![]));
        assert_eq!(digits(1_000), (0, vec![1]));
        assert_eq!(digits(2_500), (0, vec![2, 5000]));
        assert_eq!(digits(500), (-1, vec![5000]));
        assert_eq!(digits(12_345_678), (1, vec![1, 2345, 6780]));
        assert_eq!(digits(100_000_000), (1, vec![10]));
        assert_eq!(digits(1), (-1, vec![10]));
    }
}
