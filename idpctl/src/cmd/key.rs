//! `idpctl key list|rotate|retire` (alias `keys`): a tenant's signing keys.

use reqwest::StatusCode;
use shared::admin::{RetireKey, RotateKey};

use super::{Context, confirm};
use crate::cli::{KeyCommand, KeyRetireArgs, KeyRotateArgs};
use crate::error::Error;

pub fn run(command: KeyCommand, ctx: &mut Context<'_>) -> Result<(), Error> {
    match command {
        KeyCommand::List(args) => {
            let keys = ctx.client()?.list_keys(&args.tenant, args.all)?;
            ctx.print(&keys)
        }
        KeyCommand::Rotate(args) => rotate(args, ctx),
        KeyCommand::Retire(args) => retire(args, ctx),
    }
}

fn rotate(args: KeyRotateArgs, ctx: &mut Context<'_>) -> Result<(), Error> {
    let request = rotate_request(&args);
    let key = ctx.client()?.rotate_key(&args.tenant, &request)?;
    ctx.print(&key)
}

fn rotate_request(args: &KeyRotateArgs) -> RotateKey {
    RotateKey {
        alg: args.alg.map(Into::into),
        activate_in_seconds: args.activate_in,
    }
}

/// Without `--force` idpd refuses (409) to remove a key that may still be needed, so only a
/// forced retirement is destructive and needs confirming.
fn retire(args: KeyRetireArgs, ctx: &mut Context<'_>) -> Result<(), Error> {
    let ask = args.force && !args.yes;
    if ask && !ctx.interactive {
        return Err(Error::NotConfirmed(format!(
            "force-retire key {}",
            args.kid
        )));
    }
    let client = ctx.client()?;
    if ask {
        confirm(format!(
            "Remove key {} from the JWKS now? Unexpired tokens it signed will fail verification.",
            args.kid
        ))?;
    }
    let request = RetireKey { force: args.force };
    let key = client
        .retire_key(&args.kid, &request)
        .map_err(|e| with_retire_hint(e, args.force))?;
    ctx.print(&key)
}

/// A refusal names the way out that exists.
fn with_retire_hint(err: Error, force: bool) -> Error {
    match err {
        Error::Api {
            status: StatusCode::CONFLICT,
            body,
            hint: None,
        } if !force => Error::Api {
            status: StatusCode::CONFLICT,
            body,
            hint: Some(
                "an active key must first be replaced (`idpctl key rotate`); a retiring one \
                 can be removed early with --force, failing the tokens it signed"
                    .into(),
            ),
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::cli::{self, Command};

    fn key_command(args: &[&str]) -> Result<KeyCommand, clap::Error> {
        match cli::parse(["idpctl"].iter().chain(args).copied())?
            .cli
            .command
        {
            Command::Key(command) => Ok(command),
            _ => panic!("{args:?} is not a key command"),
        }
    }

    #[test]
    fn rotate_maps_alg_and_delay() {
        let Ok(KeyCommand::Rotate(args)) = key_command(&[
            "keys",
            "rotate",
            "--tenant",
            "acme",
            "--alg",
            "EdDSA",
            "--activate-in",
            "0",
        ]) else {
            panic!("did not parse")
        };
        assert_eq!(
            serde_json::to_value(rotate_request(&args)).unwrap(),
            json!({"alg": "EdDSA", "activate_in_seconds": 0})
        );
        let Ok(KeyCommand::Rotate(args)) = key_command(&["key", "rotate", "--tenant", "a"]) else {
            panic!("did not parse")
        };
        assert_eq!(
            serde_json::to_value(rotate_request(&args)).unwrap(),
            json!({})
        );
    }

    #[test]
    fn unknown_algorithms_are_refused() {
        let err = key_command(&["key", "rotate", "--tenant", "a", "--alg", "HS256"]);
        assert_eq!(
            err.err().map(|e| e.kind()),
            Some(clap::error::ErrorKind::InvalidValue)
        );
    }

    #[test]
    fn conflict_hint_only_without_force() {
        let conflict = || Error::Api {
            status: StatusCode::CONFLICT,
            body: shared::ErrorBody {
                error: "conflict".into(),
                message: "key k1 is active".into(),
                request_id: None,
            },
            hint: None,
        };
        assert!(with_retire_hint(conflict(), false).hint().is_some());
        assert!(with_retire_hint(conflict(), true).hint().is_none());
    }
}
