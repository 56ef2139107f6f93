//! Named contexts, like kubectl's: `~/.config/idpctl/config.yaml` remembers admin URLs and
//! token files under names, and which one is current. The file holds paths, never tokens.
//!
//! Precedence: `--url`/`IDPCTL_URL` and the token options beat the context; `--context`
//! (`IDPCTL_CONTEXT`) beats `current-context`.

use std::path::{Path, PathBuf};

use reqwest::Url;
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// The config file: `$IDPCTL_CONFIG`, else `$XDG_CONFIG_HOME/idpctl/config.yaml`, else
/// `~/.config/idpctl/config.yaml`.
pub fn config_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("IDPCTL_CONFIG").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|p| !p.is_empty())
                .map(|h| PathBuf::from(h).join(".config"))
        })?;
    Some(base.join("idpctl").join("config.yaml"))
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_context: Option<String>,
    #[serde(default)]
    pub contexts: Vec<NamedContext>,
}

/// One context as stored and as `idpctl context list -o json` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct NamedContext {
    pub name: String,
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_file: Option<PathBuf>,
}

impl ConfigFile {
    /// The file at `path`; an absent file is an empty configuration.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => {
                return Err(Error::Usage(format!("cannot read {}: {e}", path.display())));
            }
        };
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        serde_yaml::from_str(&text).map_err(|e| Error::Usage(format!("{}: {e}", path.display())))
    }

    pub fn save(&self, path: &Path) -> Result<(), Error> {
        let io = |e: std::io::Error| Error::Usage(format!("cannot write {}: {e}", path.display()));
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let text = serde_yaml::to_string(self).map_err(|e| Error::Usage(e.to_string()))?;
        // Write then rename, so a crash never leaves half a file.
        let tmp = path.with_extension("yaml.tmp");
        std::fs::write(&tmp, text).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    pub fn get(&self, name: &str) -> Option<&NamedContext> {
        self.contexts.iter().find(|c| c.name == name)
    }

    /// Adds or replaces the context of that name.
    pub fn upsert(&mut self, context: NamedContext) {
        match self.contexts.iter_mut().find(|c| c.name == context.name) {
            Some(existing) => *existing = context,
            None => self.contexts.push(context),
        }
    }

    pub fn remove(&mut self, name: &str) -> bool {
        let before = self.contexts.len();
        self.contexts.retain(|c| c.name != name);
        if self.current_context.as_deref() == Some(name) {
            self.current_context = None;
        }
        self.contexts.len() != before
    }
}

/// The context a command runs in: the one named by `--context`, else the current one, else
/// none. A named context that does not exist is an error, never a silent fallback.
pub fn selected(named: Option<&str>) -> Result<Option<(NamedContext, Url)>, Error> {
    let Some(path) = config_path() else {
        return match named {
            Some(n) => Err(Error::Usage(format!(
                "no context {n:?}: no config file (set HOME or IDPCTL_CONFIG)"
            ))),
            None => Ok(None),
        };
    };
    let file = ConfigFile::load(&path)?;
    let name = match named.map(str::to_owned).or(file.current_context.clone()) {
        Some(name) => name,
        None => return Ok(None),
    };
    let context = file.get(&name).cloned().ok_or_else(|| {
        Error::Usage(format!(
            "no context {name:?} in {} (see idpctl context list)",
            path.display()
        ))
    })?;
    let url = Url::parse(&context.url).map_err(|e| {
        Error::Usage(format!(
            "context {name:?} in {}: bad url {:?}: {e}",
            path.display(),
            context.url
        ))
    })?;
    Ok(Some((context, url)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contexts_round_trip_and_replace_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/config.yaml");
        assert_eq!(ConfigFile::load(&path).unwrap(), ConfigFile::default());
        let mut file = ConfigFile::default();
        file.upsert(NamedContext {
            name: "prod".into(),
            url: "https://a:8081".into(),
            token_file: Some("/t".into()),
        });
        file.upsert(NamedContext {
            name: "prod".into(),
            url: "https://b:8081".into(),
            token_file: None,
        });
        file.current_context = Some("prod".into());
        file.save(&path).unwrap();
        let back = ConfigFile::load(&path).unwrap();
        assert_eq!(back, file);
        assert_eq!(back.contexts.len(), 1);
        assert_eq!(back.get("prod").unwrap().url, "https://b:8081");
        let mut back = back;
        assert!(back.remove("prod"));
        assert_eq!(back.current_context, None);
        std::fs::write(&path, "contexts: [{name: x, url: u, token: secret}]").unwrap();
        let err = ConfigFile::load(&path).unwrap_err().to_string();
        assert!(err.contains("token"), "{err}");
    }
}
