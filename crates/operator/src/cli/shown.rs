//! How the CLI shows objects it prints (`dev` reports, `render`).

use serde_json::Value;

/// Replaces the values of a Secret with a marker: a report shows which
/// keys a coupling writes, never their contents.
pub fn hide_secret_values(object: &mut Value) {
    if object["kind"] != "Secret" {
        return;
    }
    for field in ["data", "stringData"] {
        // `get_mut`, not `object[field]`: indexing would add a null field.
        if let Some(values) = object.get_mut(field).and_then(Value::as_object_mut) {
            values
                .values_mut()
                .for_each(|v| *v = Value::from("(hidden)"));
        }
    }
}
