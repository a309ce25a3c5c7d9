//! Where an apparatus is called (docs/apparatus.md, "Endpoint"): pure.
//!
//! 1. A per-kind override (`DEBUG_PLUG_ENDPOINT`/`DEBUG_SOCKET_ENDPOINT`,
//!    carried in [`ApparatusOptions`]) wins.
//! 2. Otherwise `spec.apparatus.endpoint`: empty or a path (`/plug`) is
//!    resolved against the apparatus Service
//!    (`<owner>-apparatus.<ns>.svc.<cluster domain>`) when there are
//!    containers, else against `http://localhost`; anything else (an
//!    absolute URL, `svc:3000`) is used as given.
//! 3. `http://` is prepended when there is no `http://`/`https://` scheme.
//! 4. Exactly one trailing `/` is removed.

use integration_api::SpecApparatus;
use integration_engine::Side;

use super::ApparatusOptions;
use super::workload::apparatus_name;

/// What is posted to: `/config` or a lifecycle event's path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallPath {
    /// `POST <base>/config`.
    Config,
    /// `POST <base>/<event>` (`created`, `coupled`, …).
    Event(integration_api::When),
}

impl CallPath {
    /// The last URL segment: `config`, `coupled`, …
    pub fn segment(self) -> &'static str {
        match self {
            CallPath::Config => "config",
            CallPath::Event(when) => when.as_str(),
        }
    }

    /// How errors name the call: `config` or `event coupled`.
    pub fn describe(self) -> String {
        match self {
            CallPath::Config => "config".to_string(),
            CallPath::Event(when) => format!("event {when}"),
        }
    }
}

/// The base URL of the apparatus of the `side` object `name` in
/// `namespace`.
pub fn base_url(
    side: Side,
    name: &str,
    namespace: &str,
    spec: &SpecApparatus,
    options: &ApparatusOptions,
) -> String {
    let overridden = match side {
        Side::Plug => options.plug_endpoint.as_deref(),
        Side::Socket => options.socket_endpoint.as_deref(),
    }
    .filter(|e| !e.is_empty());
    let raw = match overridden {
        Some(url) => url.to_string(),
        None => {
            let endpoint = spec.endpoint.as_deref().unwrap_or_default();
            if !endpoint.is_empty() && !endpoint.starts_with('/') {
                endpoint.to_string()
            } else if spec.containers.is_empty() {
                format!("http://localhost{endpoint}")
            } else {
                format!(
                    "{}.{namespace}.svc.{}{endpoint}",
                    apparatus_name(name),
                    options.cluster_domain
                )
            }
        }
    };
    let mut url = if has_scheme(&raw) {
        raw
    } else {
        format!("http://{raw}")
    };
    if url.ends_with('/') {
        url.pop();
    }
    url
}

/// The URL of one call: `<base>/<segment>`.
pub fn call_url(base: &str, path: CallPath) -> String {
    format!("{base}/{}", path.segment())
}

/// Whether `url` starts with `http://` or `https://` (any case). Never
/// panics on short or non-ASCII input.
pub fn has_scheme(url: &str) -> bool {
    ["http://", "https://"].iter().any(|scheme| {
        url.get(..scheme.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(scheme))
    })
}

/// `url` as errors and logs show it: without `user:password@`.
pub fn shown_url(url: &str) -> String {
    let Some(start) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let authority_end = url[start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| start + i);
    match url[start..authority_end].rfind('@') {
        Some(at) => format!("{}{}", &url[..start], &url[start + at + 1..]),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use integration_api::When;
    use k8s_openapi::api::core::v1::Container;

    fn spec(endpoint: Option<&str>, containers: bool) -> SpecApparatus {
        SpecApparatus {
            endpoint: endpoint.map(String::from),
            containers: if containers {
                vec![Container::default()]
            } else {
                Vec::new()
            },
            ..SpecApparatus::default()
        }
    }

    fn base(endpoint: Option<&str>, containers: bool) -> String {
        base_url(
            Side::Plug,
            "orders-db",
            "app",
            &spec(endpoint, containers),
            &ApparatusOptions::default(),
        )
    }

    #[test]
    fn paths_resolve_against_the_service_or_localhost() {
        assert_eq!(
            base(Some("/plug"), true),
            "http://orders-db-apparatus.app.svc.cluster.local/plug"
        );
        assert_eq!(
            base(None, true),
            "http://orders-db-apparatus.app.svc.cluster.local"
        );
        assert_eq!(base(Some(""), false), "http://localhost");
        assert_eq!(base(Some("/x"), false), "http://localhost/x");
    }

    #[test]
    fn the_cluster_domain_comes_from_the_options() {
        let options = ApparatusOptions {
            cluster_domain: "corp.example".into(),
            ..ApparatusOptions::default()
        };
        let url = base_url(Side::Socket, "pg", "db", &spec(Some("/s"), true), &options);
        assert_eq!(url, "http://pg-apparatus.db.svc.corp.example/s");
    }

    #[test]
    fn other_endpoints_are_used_as_given() {
        assert_eq!(base(Some("http://svc:3000/x"), true), "http://svc:3000/x");
        assert_eq!(base(Some("HTTPS://svc/x"), false), "HTTPS://svc/x");
        assert_eq!(base(Some("svc:3000"), true), "http://svc:3000");
        // The reference panicked on 7-character endpoints.
        assert_eq!(base(Some("abc.com"), true), "http://abc.com");
        assert_eq!(base(Some("a"), false), "http://a");
        assert_eq!(base(Some("é"), false), "http://é");
    }

    #[test]
    fn exactly_one_trailing_slash_is_removed() {
        // The reference removed two characters (`/api/` became `/ap`).
        assert_eq!(base(Some("http://h/api/"), false), "http://h/api");
        assert_eq!(base(Some("http://h//"), false), "http://h/");
        assert_eq!(
            base(Some("/"), true),
            "http://orders-db-apparatus.app.svc.cluster.local"
        );
    }

    #[test]
    fn overrides_win_per_kind() {
        let options = ApparatusOptions {
            plug_endpoint: Some("127.0.0.1:8080/p/".into()),
            socket_endpoint: Some("http://s".into()),
            ..ApparatusOptions::default()
        };
        let s = spec(Some("http://ignored"), true);
        assert_eq!(
            base_url(Side::Plug, "n", "ns", &s, &options),
            "http://127.0.0.1:8080/p"
        );
        assert_eq!(base_url(Side::Socket, "n", "ns", &s, &options), "http://s");
        let empty = ApparatusOptions {
            plug_endpoint: Some(String::new()),
            ..ApparatusOptions::default()
        };
        assert_eq!(
            base_url(Side::Plug, "n", "ns", &s, &empty),
            "http://ignored"
        );
    }

    #[test]
    fn call_urls_and_names() {
        let event = CallPath::Event(When::Coupled);
        assert_eq!(call_url("http://h/p", event), "http://h/p/coupled");
        assert_eq!(call_url("http://h", CallPath::Config), "http://h/config");
        assert_eq!(event.describe(), "event coupled");
        assert_eq!(CallPath::Config.describe(), "config");
    }

    #[test]
    fn shown_urls_hide_credentials() {
        assert_eq!(shown_url("http://u:pw@h:1/x@y"), "http://h:1/x@y");
        assert_eq!(shown_url("http://h/x"), "http://h/x");
        assert_eq!(shown_url("no scheme"), "no scheme");
    }
}
