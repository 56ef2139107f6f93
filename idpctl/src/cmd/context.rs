//! `idpctl context add|use|list|remove`: named admin URLs and token files.

use serde::Serialize;

use super::Context;
use crate::cli::{ContextAddArgs, ContextCommand};
use crate::contexts::{ConfigFile, NamedContext, config_path};
use crate::error::Error;
use crate::output::{Rows, Tabular};

/// `context list` as printed: each context and whether it is the current one.
#[derive(Serialize)]
pub struct ContextList {
    pub current_context: Option<String>,
    pub items: Vec<NamedContext>,
}

impl Tabular for ContextList {
    fn rows(&self) -> Rows {
        Rows {
            header: vec!["CURRENT", "NAME", "URL", "TOKEN FILE"],
            rows: self
                .items
                .iter()
                .map(|c| {
                    vec![
                        if self.current_context.as_deref() == Some(c.name.as_str()) {
                            "*".into()
                        } else {
                            String::new()
                        },
                        c.name.clone(),
                        c.url.clone(),
                        c.token_file
                            .as_ref()
                            .map(|p| p.display().to_string())
                            .unwrap_or_default(),
                    ]
                })
                .collect(),
        }
    }
}

/// What `context add` stores: the global `--url` and `--token-file`, when given.
pub struct Target {
    pub url: Option<reqwest::Url>,
    pub token_file: Option<std::path::PathBuf>,
}

pub fn run(command: ContextCommand, target: Target, ctx: &mut Context<'_>) -> Result<(), Error> {
    let path = config_path()
        .ok_or_else(|| Error::Usage("no config file location: set HOME or IDPCTL_CONFIG".into()))?;
    let mut file = ConfigFile::load(&path)?;
    match command {
        ContextCommand::Add(ContextAddArgs { name, make_current }) => {
            let Some(url) = target.url else {
                return Err(Error::Usage(
                    "context add needs --url: the base URL of that idpd's admin listener".into(),
                ));
            };
            let token_file = target.token_file;
            // Stored absolute, so the context works from any directory.
            let token_file = match token_file {
                Some(p) if p.as_os_str() == "-" => {
                    return Err(Error::Usage(
                        "a context's token file must be a file, not standard input".into(),
                    ));
                }
                Some(p) => Some(
                    std::path::absolute(&p)
                        .map_err(|e| Error::Usage(format!("--token-file {}: {e}", p.display())))?,
                ),
                None => None,
            };
            file.upsert(NamedContext {
                name: name.clone(),
                url: url.to_string(),
                token_file,
            });
            if make_current || file.current_context.is_none() {
                file.current_context = Some(name.clone());
            }
            file.save(&path)?;
            ctx.note(&format!("context {name:?} saved in {}", path.display()));
            Ok(())
        }
        ContextCommand::Use { name } => {
            if file.get(&name).is_none() {
                return Err(Error::Usage(format!(
                    "no context {name:?} in {} (see idpctl context list)",
                    path.display()
                )));
            }
            file.current_context = Some(name.clone());
            file.save(&path)?;
            ctx.note(&format!("now using context {name:?}"));
            Ok(())
        }
        ContextCommand::List => ctx.print(&ContextList {
            current_context: file.current_context.clone(),
            items: file.contexts,
        }),
        ContextCommand::Remove { name } => {
            if !file.remove(&name) {
                return Err(Error::Usage(format!("no context {name:?}")));
            }
            file.save(&path)?;
            ctx.note(&format!("removed context {name:?}"));
            Ok(())
        }
    }
}
