//! `--apply DIR`: every YAML or JSON manifest of a directory, applied
//! server-side in file-name order (so `00-namespaces.yaml` goes first).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use integration_controller::RestMapper;
use kube::Client;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::Value;

use crate::cli::render::application::FACTS_KIND;

/// Namespace of namespaced manifests that name none, as kubectl does.
const DEFAULT_NAMESPACE: &str = "default";

/// One document of a manifest file.
#[derive(Debug)]
pub struct Manifest {
    /// `FILE` or `FILE#N` for the N-th document (1-based) of several: how
    /// errors point at it.
    pub origin: String,
    pub object: Value,
}

impl Manifest {
    pub fn api_version(&self) -> &str {
        self.object["apiVersion"].as_str().unwrap_or_default()
    }

    pub fn kind(&self) -> &str {
        self.object["kind"].as_str().unwrap_or_default()
    }

    pub fn name(&self) -> &str {
        self.object["metadata"]["name"].as_str().unwrap_or_default()
    }

    pub fn namespace(&self) -> Option<&str> {
        self.object["metadata"]["namespace"].as_str()
    }
}

/// Reads every `*.yaml`, `*.yml` and `*.json` file directly in `dir`,
/// sorted by name, and checks that each document names what to apply.
/// Everything is read before anything is applied, so a typo in the last
/// file leaves the cluster untouched.
pub fn read_dir(dir: &Path) -> anyhow::Result<Vec<Manifest>> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("reading directory {}", dir.display()))?;
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .with_context(|| format!("reading directory {}", dir.display()))?;
    files.retain(|p| {
        p.is_file()
            && p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
    });
    files.sort();
    if files.is_empty() {
        bail!("{}: no .yaml, .yml or .json manifests", dir.display());
    }
    let mut manifests = Vec::new();
    for file in &files {
        manifests.extend(read_file(file)?);
    }
    Ok(manifests)
}

fn read_file(file: &Path) -> anyhow::Result<Vec<Manifest>> {
    let documents = crate::cli::yaml::read_documents(file)?;
    // A cluster-facts file for `render` may sit beside the manifests
    // (examples/shop/facts.yaml): it describes a cluster, it is not applied.
    let documents: Vec<Value> = documents
        .into_iter()
        .filter(|d| !d.is_null() && d["kind"] != FACTS_KIND)
        .collect();
    let several = documents.len() > 1;
    documents
        .into_iter()
        .enumerate()
        .map(|(i, object)| {
            let origin = if several {
                format!("{}#{}", file.display(), i + 1)
            } else {
                file.display().to_string()
            };
            let manifest = Manifest { origin, object };
            check(&manifest)?;
            Ok(manifest)
        })
        .collect()
}

/// A document must be an object with `apiVersion`, `kind` and
/// `metadata.name`: without them there is nothing to apply.
fn check(manifest: &Manifest) -> anyhow::Result<()> {
    if !manifest.object.is_object() {
        bail!("{}: not a Kubernetes object", manifest.origin);
    }
    for (field, value) in [
        ("apiVersion", manifest.api_version()),
        ("kind", manifest.kind()),
        ("metadata.name", manifest.name()),
    ] {
        if value.is_empty() {
            bail!("{}: missing {field}", manifest.origin);
        }
    }
    Ok(())
}

/// Applies each manifest in order, server-side with `manager` (forced, so
/// re-applying a changed directory wins over earlier edits). Namespaced
/// kinds without a namespace go to `default`. Returns the manifests with
/// their namespaces filled in.
pub async fn apply(
    client: &Client,
    manifests: Vec<Manifest>,
    manager: &str,
) -> anyhow::Result<Vec<Manifest>> {
    let mapper = RestMapper::new(client.clone());
    let params = PatchParams::apply(manager).force();
    let mut applied = Vec::with_capacity(manifests.len());
    for mut manifest in manifests {
        let mapping = mapper
            .mapping(manifest.api_version(), manifest.kind())
            .await
            .with_context(|| format!("{}: cannot apply", manifest.origin))?;
        let api: Api<DynamicObject> = if mapping.namespaced {
            if manifest.namespace().is_none() {
                manifest.object["metadata"]["namespace"] = Value::from(DEFAULT_NAMESPACE);
            }
            let ns = manifest.namespace().unwrap_or(DEFAULT_NAMESPACE);
            Api::namespaced_with(client.clone(), ns, &mapping.resource)
        } else {
            Api::all_with(client.clone(), &mapping.resource)
        };
        api.patch(manifest.name(), &params, &Patch::Apply(&manifest.object))
            .await
            .map_err(|e| match e {
                kube::Error::Api(status) => anyhow::anyhow!("{}", status.message),
                other => anyhow::Error::new(other),
            })
            .with_context(|| {
                format!(
                    "{}: applying {} {}",
                    manifest.origin,
                    manifest.kind(),
                    shown_name(&manifest)
                )
            })?;
        applied.push(manifest);
    }
    Ok(applied)
}

/// `ns/name`, or `name` for cluster-scoped objects.
fn shown_name(manifest: &Manifest) -> String {
    match manifest.namespace() {
        Some(ns) => format!("{ns}/{}", manifest.name()),
        None => manifest.name().to_string(),
    }
}
