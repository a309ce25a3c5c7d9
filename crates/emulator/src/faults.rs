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
    /// How many matching requests pass before the first one fails.
    pub after: u32,
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
            after: 0,
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

    /// Lets the first `n` matching requests through.
    pub fn after(mut self, n: u32) -> Self {
        self.after = n;
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
    if faults[idx].after > 0 {
        faults[idx].after -= 1;
        return None;
    }
    let err = faults[idx].error(resource, name);
    if let Some(t) = &mut faults[idx].times {
        *t = t.saturating_sub(1);
        if *t == 0 {
            faults.remove(idx);
        }
    }
    Some(err)
}

/// Random faults for chaos tests: requests authenticated as one user (the
/// operator under test; the test's own client stays reliable) fail or wait
/// at the given rates, drawn from a seeded generator. The same seed draws
/// the same sequence; which request gets which draw still depends on timing.
#[derive(Debug, Clone)]
pub struct Chaos {
    rng: fastrand::Rng,
    user: String,
    /// Share of requests answered with an error: 409, 429 or 500 for a
    /// write, 429 or 500 for a read, 410 (an expired watch) or 500 for a
    /// watch.
    pub fail_rate: f64,
    /// Share of requests answered late, by up to `max_delay`.
    pub delay_rate: f64,
    /// The longest delay.
    pub max_delay: std::time::Duration,
    /// What was injected so far.
    pub injected: Injected,
}

/// Counts of the faults a [`Chaos`] injected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Injected {
    /// 409 Conflict answers.
    pub conflicts: u64,
    /// 410 Gone (expired) answers to watches.
    pub expired: u64,
    /// 429 Too Many Requests answers.
    pub throttled: u64,
    /// 500 Internal Error answers.
    pub internal: u64,
    /// Delayed answers.
    pub delayed: u64,
}

impl Injected {
    /// Every fault injected.
    pub fn total(&self) -> u64 {
        self.conflicts + self.expired + self.throttled + self.internal + self.delayed
    }
}

impl Chaos {
    /// Faults for the requests of `user`, drawn from `seed`; no faults until
    /// rates are set.
    pub fn new(seed: u64, user: &str) -> Self {
        Chaos {
            rng: fastrand::Rng::with_seed(seed),
            user: user.to_string(),
            fail_rate: 0.0,
            delay_rate: 0.0,
            max_delay: std::time::Duration::ZERO,
            injected: Injected::default(),
        }
    }

    /// Fails this share of requests.
    pub fn fail_rate(mut self, rate: f64) -> Self {
        self.fail_rate = rate;
        self
    }

    /// Delays this share of requests by up to `max`.
    pub fn delay_rate(mut self, rate: f64, max: std::time::Duration) -> Self {
        self.delay_rate = rate;
        self.max_delay = max;
        self
    }

    /// The delay for a request of `user`, if one is drawn.
    pub(crate) fn delay(&mut self, user: &str) -> Option<std::time::Duration> {
        if user != self.user || self.rng.f64() >= self.delay_rate {
            return None;
        }
        self.injected.delayed += 1;
        let max = u64::try_from(self.max_delay.as_millis()).unwrap_or(u64::MAX);
        Some(std::time::Duration::from_millis(self.rng.u64(0..=max)))
    }

    /// The error for a `verb` request of `user`, if one is drawn.
    pub(crate) fn error(
        &mut self,
        user: &str,
        verb: &str,
        resource: &str,
        name: &str,
    ) -> Option<ApiError> {
        if user != self.user || self.rng.f64() >= self.fail_rate {
            return None;
        }
        let codes: &[u16] = match verb {
            "watch" => &[410, 500],
            "get" | "list" => &[429, 500],
            _ => &[409, 429, 500],
        };
        let code = codes[self.rng.usize(0..codes.len())];
        let count = match code {
            409 => &mut self.injected.conflicts,
            410 => &mut self.injected.expired,
            429 => &mut self.injected.throttled,
            _ => &mut self.injected.internal,
        };
        *count += 1;
        Some(Fault::new(code).error(resource, name))
    }
}
