//! ACL: the read-only subcommands that make sense with the one user,
//! `default`, whose password is `requirepass` (or none).

use super::args;
use super::introspect::{self, write_help};
use super::spec::{bind, container, CommandSpec, Ctx};
use crate::db::DbView;
use crate::error::{CmdError, CmdResult};
use std::fmt::Write as _;

/// ACL's bindings.
pub const COMMANDS: &[CommandSpec] = &[container("acl", ACL_SUBCOMMANDS)];

const ACL_SUBCOMMANDS: &[CommandSpec] = &[
    bind("acl|whoami", acl_whoami),
    bind("acl|users", acl_users),
    bind("acl|cat", acl_cat),
    bind("acl|genpass", acl_genpass),
    bind("acl|log", acl_log),
    bind("acl|help", acl_help),
];

fn acl_whoami(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    ctx.out.bulk(b"default");
    Ok(())
}

fn acl_users(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    ctx.out.array(1);
    ctx.out.bulk(b"default");
    Ok(())
}

fn acl_cat(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    match ctx.args.len() {
        2 => {
            let cats = introspect::ACL_CATEGORIES;
            ctx.out.array(cats.len());
            for c in cats {
                ctx.out.bulk(c.as_bytes());
            }
        }
        3 => {
            let wanted = ctx.args[2].to_ascii_lowercase();
            let Some(cat) = introspect::ACL_CATEGORIES
                .iter()
                .find(|c| c.as_bytes() == wanted.as_slice())
            else {
                return Err(CmdError::new(format!(
                    "ERR Unknown category '{}'",
                    args::lossy(&ctx.args[2])
                )));
            };
            let names: Vec<&str> = ctx
                .registry
                .all()
                .filter(|spec| introspect::acl_categories(spec).contains(cat))
                .map(|spec| spec.name)
                .collect();
            ctx.out.array(names.len());
            for n in names {
                ctx.out.bulk(n.as_bytes());
            }
        }
        _ => return Err(introspect::subcommand_syntax_error(ctx.args)),
    }
    Ok(())
}

fn acl_genpass(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    let bits = match ctx.args.len() {
        2 => 256,
        3 => {
            let n = args::int(&ctx.args[2])?;
            if !(1..=4096).contains(&n) {
                return Err(CmdError::fixed(
                    "ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096",
                ));
            }
            n as usize
        }
        _ => return Err(introspect::subcommand_syntax_error(ctx.args)),
    };
    let digits = bits.div_ceil(4);
    let mut hex = String::with_capacity(digits + 16);
    while hex.len() < digits {
        let _ = write!(hex, "{:016x}", crate::util::rand_u64());
    }
    hex.truncate(digits);
    ctx.out.bulk(hex.as_bytes());
    Ok(())
}

fn acl_log(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    match ctx.args.len() {
        2 => {}
        3 if args::is(&ctx.args[2], "RESET") => {
            ctx.out.ok();
            return Ok(());
        }
        3 => {
            args::int(&ctx.args[2])?;
        }
        _ => return Err(introspect::subcommand_syntax_error(ctx.args)),
    }
    // Nothing is logged: there are no ACL rules to break.
    ctx.out.array(0);
    Ok(())
}

fn acl_help(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    write_help(
        ctx.out,
        "ACL",
        &[
            "CAT [<category>]",
            "    The ACL categories, or the commands in one.",
            "GENPASS [<bits>]",
            "    A random password of <bits> bits (256 by default), in hex.",
            "LOG [<count> | RESET]",
            "    Denied accesses (none: the only user is 'default').",
            "USERS",
            "    The user names.",
            "WHOAMI",
            "    The user of this connection.",
        ],
    );
    Ok(())
}
