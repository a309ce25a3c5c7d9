//! Rendering the templates of a `ResourceAction` into Kubernetes objects
//! (docs/templates.md: "Resource templates", "Objects", "Missing values",
//! "No injection").
//!
//! * Sources are taken in the reference's order: `template`, each
//!   `templates[i]`, `stringTemplate`, each `stringTemplates[i]`.
//! * Structured templates are walked as JSON and each string (value or key)
//!   is rendered on its own, so a value can never add keys ([`structured`]).
//! * String templates are rendered as text and parsed as YAML; empty
//!   output and empty documents are skipped, several documents are allowed,
//!   and values from the other side of the coupling may only land as scalars
//!   ([`text`], [`guard`]).
//! * Every object is then checked and completed ([`manifest`]): no
//!   `<no value>`, the owner's namespace, owner labels.

mod guard;
pub mod manifest;
mod structured;
mod text;

use integration_api::{Do, ResourceAction};
use serde_json::Value;

use crate::error::Result;
use crate::owner::Owner;
use crate::template::TemplateData;
use crate::warning::Notes;
use guard::Guard;

/// One rendered object and what to do with it.
#[derive(Clone, Debug, PartialEq)]
pub struct Rendered {
    /// Apply, delete or recreate.
    pub action: Do,
    /// The object, namespaced to its owner and labelled.
    pub object: Value,
    /// The template it came from, e.g. `socket.resources[0].stringTemplate`.
    pub template: String,
    /// Index of the YAML document within a stringTemplate (0 otherwise).
    pub document: usize,
}

impl Rendered {
    /// `apiVersion`, `kind`, `namespace` and `name` of the object: what the
    /// edge needs to apply or delete it.
    pub fn identity(&self) -> [&str; 4] {
        fn s(v: &Value) -> &str {
            v.as_str().unwrap_or_default()
        }
        let meta = &self.object["metadata"];
        [
            s(&self.object["apiVersion"]),
            s(&self.object["kind"]),
            s(&meta["namespace"]),
            s(&meta["name"]),
        ]
    }
}

/// Renders actions of one owner with one set of template data.
pub(crate) struct Renderer<'r> {
    owner: &'r Owner<'r>,
    data: TemplateData<'static>,
    guard: Option<Guard>,
}

impl<'r> Renderer<'r> {
    /// A renderer for `owner`'s templates, reporting `<no value>` through
    /// `notes`. Values under the other side's keys of `data` (its object,
    /// config and result) are guarded in string templates.
    pub(crate) fn new(owner: &'r Owner<'r>, data: Value, notes: Notes) -> Self {
        let other = owner.side().other();
        let guarded_keys = [other.as_str(), other.config_key(), other.result_key()];
        let guard = Guard::new(&data, &guarded_keys);
        Renderer {
            owner,
            data: TemplateData::from(data).with_notes(notes),
            guard,
        }
    }

    /// Renders every template of `action` (named `site`, e.g.
    /// `plug.resources[2]`), each object tagged with `action_do`.
    pub(crate) fn render(
        &self,
        site: &str,
        action: &ResourceAction,
        action_do: Do,
    ) -> Result<Vec<Rendered>> {
        let mut out = Vec::new();
        for (name, template) in structured_sources(site, action) {
            let object = structured::render(&name, template, &self.data)?;
            out.push(self.finish(action_do, object, name, 0)?);
        }
        for (name, src) in string_sources(site, action) {
            let docs = text::render(&name, src, &self.data, self.guard.as_ref())?;
            for (document, object) in docs.into_iter().enumerate() {
                out.push(self.finish(action_do, object, name.clone(), document)?);
            }
        }
        Ok(out)
    }

    fn finish(
        &self,
        action: Do,
        object: Value,
        template: String,
        document: usize,
    ) -> Result<Rendered> {
        let object = manifest::finish(object, self.owner, &template, document)?;
        Ok(Rendered {
            action,
            object,
            template,
            document,
        })
    }
}

fn structured_sources<'a>(site: &str, action: &'a ResourceAction) -> Vec<(String, &'a Value)> {
    let one = action
        .template
        .iter()
        .map(|t| (format!("{site}.template"), t));
    let many = action.templates.iter().flatten().enumerate();
    one.chain(many.map(|(i, t)| (format!("{site}.templates[{i}]"), t)))
        .collect()
}

fn string_sources<'a>(site: &str, action: &'a ResourceAction) -> Vec<(String, &'a str)> {
    let one = action
        .string_template
        .iter()
        .map(|t| (format!("{site}.stringTemplate"), t.as_str()));
    let many = action.string_templates.iter().flatten().enumerate();
    one.chain(many.map(|(i, t)| (format!("{site}.stringTemplates[{i}]"), t.as_str())))
        .collect()
}
