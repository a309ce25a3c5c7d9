//! Fault knobs for tests: make chosen requests fail with a given status, a given number of times.

use crate::error::ApiError;

/// One injected failure. Unset filters match anything.
#[derive(Debug, Clone)]
pub struct Fault {
    /// 409, 410, 429 or 500 (any other code becomes an InternalError with that code).
    pub code: u16,
    /// RBAC verb: get, list, watch, create, update, patch, delete, deletecollection.
    pub verb: Option<String>,
    /// Resource plural, e.g. `configmaps`.
    pub resource: Option<String>,
    /// Namespace of the request.
    pub namespace: Option<String>,
    /// Name of the object the request is about.
    pub name: Option<String>,
    /// How many matching requests fail; `None` is until cleared.
    pub times: Option<u32>,
}

impl Fault {
    /// Fails the next request, whatever it is, with `code`.
    pub fn new(code: u16) -> Self {
        Fault {
            code,
            verb: None,
            resource: None,
            namespace: None,
            name: None,
            times: Some(1),
        }
    }

    /// Only requests with this RBAC verb.
    pub fn verb(mut self, v: &str) -> Self {
        self.verb = Some(v.into());
        self
    }

    /// Only requests for this resource plural.
    pub fn resource(mut self, r: &str) -> Self {
        self.resource = Some(r.into());
        self
    }

    /// Only requests in this namespace.
    pub fn namespace(mut self, n: &str) -> Self {
        self.namespace = Some(n.into());
        self
    }

    /// Only requests for the object of this name.
    pub fn name(mut self, n: &str) -> Self {
        self.name = Some(n.into());
        self
    }

    /// Fails `n` matching requests, then lets them through.
    pub fn times(mut self, n: u32) -> Self {
        self.times = Some(n);
        self
    }

    /// Fails every matching request until the faults are cleared.
    pub fn always(mut self) -> Self {
        self.times = None;
        self
    }

    fn matches(&self, verb: &str, resource: &str, ns: &str, name: &str) -> bool {
        let ok = |f: &Option<String>, v: &str| f.as_deref().is_none_or(|x| x == v);
        ok(&self.verb, verb)
            && ok(&self.resource, resource)
            && ok(&self.namespace, ns)
            && ok(&self.name, name)
    }

    fn error(&self, resource: &str, name: &str) -> ApiError {
        match self.code {
            409 => ApiError::conflict("", resource, name, "injected conflict"),
            410 => ApiError::expired("too old resource version: injected"),
            429 => ApiError::too_many_requests(),
            500 => ApiError::internal("injected failure"),
            c => ApiError::new(c, "InternalError", "injected failure"),
        }
    }
}

/// Consumes the first matching fault, if any.
pub fn take(
    faults: &mut Vec<Fault>,
    verb: &str,
    resource: &str,
    ns: &str,
    name: &str,
) -> Option<ApiError> {
    let idx = faults
        .iter()
        .position(|f| f.matches(verb, resource, ns, name))?;
    let err = faults[idx].error(resource, name);
    if let Some(t) = &mut faults[idx].times {
        *t = t.saturating_sub(1);
        if *t == 0 {
            faults.remove(idx);
        }
    }
    Some(err)
}
