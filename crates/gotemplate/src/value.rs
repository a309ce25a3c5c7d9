//! The dynamic values templates operate on, modelled on what Go's
//! `text/template` sees after the operator's JSON round trip.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;

/// A map shared by reference, as Go maps are: sprig's `set`, `unset` and
/// `merge` change the map every variable that holds it sees.
pub type MapRef = Rc<RefCell<Entries>>;

/// The entries of a map value. Dropping it frees nested values without
/// recursion, so a template that nests values deeply cannot overflow the
/// stack when they are freed.
#[derive(Debug, Default, Clone)]
pub struct Entries(pub BTreeMap<String, Value>);

/// The items of a list value; dropped without recursion, like [`Entries`].
#[derive(Debug, Default, Clone)]
pub struct Items(pub Vec<Value>);

impl std::ops::Deref for Entries {
    type Target = BTreeMap<String, Value>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for Entries {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl std::ops::Deref for Items {
    type Target = Vec<Value>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for Items {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl Drop for Entries {
    fn drop(&mut self) {
        if self.0.values().any(Value::is_container) {
            drop_iteratively(std::mem::take(&mut self.0).into_values().collect());
        }
    }
}

impl Drop for Items {
    fn drop(&mut self) {
        if self.0.iter().any(Value::is_container) {
            drop_iteratively(std::mem::take(&mut self.0));
        }
    }
}

/// Frees values with an explicit stack: each list or map that is not shared
/// elsewhere hands its children to the stack before it goes.
fn drop_iteratively(mut stack: Vec<Value>) {
    while let Some(value) = stack.pop() {
        match value {
            Value::List(items) => {
                if let Ok(mut items) = Rc::try_unwrap(items) {
                    stack.append(&mut items.0);
                }
            }
            Value::Map(map) => {
                if let Ok(map) = Rc::try_unwrap(map) {
                    let mut entries = map.into_inner();
                    stack.extend(std::mem::take(&mut entries.0).into_values());
                }
            }
            _ => {}
        }
    }
}

/// A template value.
///
/// Numbers keep Go's distinction between `int` (literals without a dot,
/// `len`, sprig math) and `float64` (every number that came from JSON data),
/// because Go prints and compares them differently.
#[derive(Clone, Debug, Default)]
pub enum Value {
    /// Go's invalid `reflect.Value`: the result of reading a key that is not
    /// in a map. Prints as `<no value>`; functions receive it as [`Value::Nil`].
    #[default]
    Missing,
    /// A nil interface (JSON `null`). Prints as `<nil>`.
    Nil,
    /// A `bool`.
    Bool(bool),
    /// An `int`/`int64`.
    Int(i64),
    /// A `float64`.
    Float(f64),
    /// A `string`.
    String(Arc<str>),
    /// A `[]interface{}`.
    List(Rc<Items>),
    /// A `map[string]interface{}`, shared by reference.
    Map(MapRef),
    /// A `time.Time`, produced by sprig's date functions.
    Time(jiff::Zoned),
    /// sprig's `certificate` struct, produced by `genCA` and its kin.
    Cert(Rc<Certificate>),
}

/// sprig's `certificate`: a PEM certificate and its PEM private key, read
/// in templates as `.Cert` and `.Key`.
#[derive(Clone, PartialEq, Eq)]
pub struct Certificate {
    /// The PEM `CERTIFICATE` block (or whatever `buildCustomCert` was given).
    pub cert: String,
    /// The PEM private key.
    pub key: String,
}

impl Certificate {
    /// The struct's fields in Go's declaration order, as templates,
    /// `printf` and `toJson` see them.
    pub fn fields(&self) -> [(&'static str, &str); 2] {
        [("Cert", &self.cert), ("Key", &self.key)]
    }
}

/// Leaves the private key out, so that a value logged with `{:?}` cannot
/// leak it.
impl std::fmt::Debug for Certificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certificate")
            .field("cert", &self.cert)
            .field("key", &"[private key]")
            .finish()
    }
}

impl Value {
    /// A string value.
    pub fn str(s: impl Into<Arc<str>>) -> Self {
        Value::String(s.into())
    }

    /// A list value.
    pub fn list(items: Vec<Value>) -> Self {
        Value::List(Rc::new(Items(items)))
    }

    /// A map value that no one else refers to yet.
    pub fn map(entries: BTreeMap<String, Value>) -> Self {
        Value::Map(Rc::new(RefCell::new(Entries(entries))))
    }

    /// Whether this is a list or a map, which can hold other values.
    pub fn is_container(&self) -> bool {
        matches!(self, Value::List(_) | Value::Map(_))
    }

    /// Go's truth: false, 0, nil, "", and empty lists and maps are false.
    pub fn is_true(&self) -> bool {
        match self {
            Value::Missing | Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::String(s) => !s.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Map(m) => !m.borrow().is_empty(),
            Value::Time(_) | Value::Cert(_) => true,
        }
    }

    /// The value a function argument receives: a missing value becomes nil,
    /// as Go passes the zero value for an invalid `reflect.Value`.
    pub fn into_arg(self) -> Self {
        match self {
            Value::Missing => Value::Nil,
            v => v,
        }
    }

    /// The string inside, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// Go's `%T`: the dynamic type's name.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Missing | Value::Nil => "<nil>",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float64",
            Value::String(_) => "string",
            Value::List(_) => "[]interface {}",
            Value::Map(_) => "map[string]interface {}",
            Value::Time(_) => "time.Time",
            Value::Cert(_) => "sprig.certificate",
        }
    }

    /// Go's `reflect.Kind` name, as sprig's `kindOf` reports it.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Missing => "invalid",
            Value::Nil => "invalid",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float64",
            Value::String(_) => "string",
            Value::List(_) => "slice",
            Value::Map(_) => "map",
            Value::Time(_) | Value::Cert(_) => "struct",
        }
    }

    /// Converts JSON data, turning every number into a `float64` as Go's
    /// `encoding/json` does.
    pub fn from_json(json: &serde_json::Value) -> Self {
        match json {
            serde_json::Value::Null => Value::Nil,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            serde_json::Value::String(s) => Value::str(s.as_str()),
            serde_json::Value::Array(items) => {
                Value::list(items.iter().map(Value::from_json).collect())
            }
            serde_json::Value::Object(o) => Value::map(
                o.iter()
                    .map(|(k, v)| (k.clone(), Value::from_json(v)))
                    .collect(),
            ),
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::str(s)
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::str(s)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}

impl From<f64> for Value {
    fn from(f: f64) -> Self {
        Value::Float(f)
    }
}

/// Short constructors for unit tests' expected values.
#[cfg(test)]
pub(crate) mod shorthand {
    use super::Value;

    /// A Go `int`.
    pub fn i(n: i64) -> Value {
        Value::Int(n)
    }

    /// A Go `float64`.
    pub fn f(x: f64) -> Value {
        Value::Float(x)
    }

    /// A `float64` from its bits, for NaNs and edge values.
    pub fn fb(bits: u64) -> Value {
        Value::Float(f64::from_bits(bits))
    }

    /// A string.
    pub fn s(x: &str) -> Value {
        Value::str(x)
    }

    /// A list.
    pub fn l(items: Vec<Value>) -> Value {
        Value::list(items)
    }

    /// A map.
    pub fn m(entries: Vec<(&str, Value)>) -> Value {
        Value::map(
            entries
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        )
    }
}
