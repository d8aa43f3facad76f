//! The geo family: GEOADD, GEOPOS, GEODIST, GEOHASH, GEOSEARCH,
//! GEOSEARCHSTORE and the older GEORADIUS forms.
//!
//! A geo set is a sorted set whose scores are 52-bit geohash cells
//! ([`crate::types::geohash`]); GEOADD is ZADD with computed scores, and a
//! search scans the score ranges of a cell and its eight neighbours, keeps
//! the members the shape holds, then sorts and cuts as Redis does. The
//! parsing follows Redis's single option loop shared by every search
//! command, so the same arguments fail with the same error at the same
//! point (the source key's type first, then the options in order, then
//! the combinations).

use super::args::{self, is};
use super::keyspec::KeyRef;
use super::spec::{bind, CommandSpec, Ctx};
use super::zsets;
use crate::db::{DbView, KeyEvent};
use crate::error::{CmdError, CmdResult, NOT_FLOAT, SYNTAX, WRONGTYPE};
use crate::reply::Reply;
use crate::types::geohash::{self, Extent, Shape};
use crate::types::{Value, ZSetValue};
use crate::util::numfmt::{format_fixed, format_human};
use crate::util::pqsort::partial_sort;
use bytes::Bytes;

/// The geo family's command table.
pub const COMMANDS: &[CommandSpec] = &[
    bind("geoadd", geoadd),
    bind("geopos", geopos),
    bind("geodist", geodist),
    bind("geohash", geohash),
    bind("georadius", georadius).with_locking_getkeys(radius_keys),
    bind("georadius_ro", georadius_ro),
    bind("georadiusbymember", georadiusbymember).with_locking_getkeys(radius_keys),
    bind("georadiusbymember_ro", georadiusbymember_ro),
    bind("geosearch", geosearch),
    bind("geosearchstore", geosearchstore),
];

/// Redis's key finder of GEORADIUS and GEORADIUSBYMEMBER: the source, and
/// the key after the last STORE or STOREDIST from the sixth argument on
/// (the one the command writes; the key specs find the first).
fn radius_keys(args: &[Bytes], keys: &mut Vec<KeyRef>) {
    keys.push(KeyRef { pos: 1, flags: 0 });
    let mut stored = None;
    let mut i = 5;
    while i < args.len() {
        if (is(&args[i], "store") || is(&args[i], "storedist")) && i + 1 < args.len() {
            stored = Some(i + 1);
            i += 1;
        }
        i += 1;
    }
    if let Some(pos) = stored {
        keys.push(KeyRef { pos, flags: 0 });
    }
}

const NO_MEMBER: CmdError = CmdError::fixed("ERR could not decode requested zset member");
const BAD_UNIT: CmdError =
    CmdError::fixed("ERR unsupported unit provided. please use M, KM, FT, MI");

// ----- arguments -----

/// A longitude and latitude pair, each a float as Redis reads it, within
/// the indexable range.
fn lon_lat(lon: &[u8], lat: &[u8]) -> Result<[f64; 2], CmdError> {
    let x = zsets::score_arg(lon, NOT_FLOAT)?;
    let y = zsets::score_arg(lat, NOT_FLOAT)?;
    if !(geohash::LONG_MIN..=geohash::LONG_MAX).contains(&x)
        || !(geohash::LAT_MIN..=geohash::LAT_MAX).contains(&y)
    {
        return Err(CmdError::new(format!(
            "ERR invalid longitude,latitude pair {x:.6},{y:.6}"
        )));
    }
    Ok([x, y])
}

/// Metres per unit (M, KM, FT, MI, any case).
fn unit(arg: &[u8]) -> Result<f64, CmdError> {
    if is(arg, "m") {
        Ok(1.0)
    } else if is(arg, "km") {
        Ok(1000.0)
    } else if is(arg, "ft") {
        Ok(0.3048)
    } else if is(arg, "mi") {
        Ok(1609.34)
    } else {
        Err(BAD_UNIT)
    }
}

/// A radius and its unit: the radius in that unit and metres per unit.
fn radius(args: &[Bytes]) -> Result<(f64, f64), CmdError> {
    let r = zsets::score_arg(&args[0], CmdError::fixed("ERR need numeric radius"))?;
    if r < 0.0 {
        return Err(CmdError::fixed("ERR radius cannot be negative"));
    }
    Ok((r, unit(&args[1])?))
}

/// A box's width, height and unit.
fn box_extent(args: &[Bytes]) -> Result<(f64, f64, f64), CmdError> {
    let w = zsets::score_arg(&args[0], CmdError::fixed("ERR need numeric width"))?;
    let h = zsets::score_arg(&args[1], CmdError::fixed("ERR need numeric height"))?;
    if h < 0.0 || w < 0.0 {
        return Err(CmdError::fixed("ERR height or width cannot be negative"));
    }
    Ok((w, h, unit(&args[2])?))
}

/// The sorted set at `key` for a read, counted in INFO's keyspace hits or
/// misses as Redis's read lookup counts it (WRONGTYPE for another type).
fn read_zset<'v>(db: &'v mut DbView<'_>, key: &[u8]) -> Result<Option<&'v ZSetValue>, CmdError> {
    match db.get_counted(key) {
        None => Ok(None),
        Some(Value::ZSet(z)) => Ok(Some(z)),
        Some(_) => Err(WRONGTYPE),
    }
}

/// The point a member of `z` is at, if it is a member.
fn member_point(z: &ZSetValue, member: &[u8]) -> Option<[f64; 2]> {
    z.score(member).map(geohash::point_of)
}

// ----- replies -----

/// A coordinate as Redis prints one (its "human" long double form): a
/// bulk string in RESP2, a double in RESP3.
fn coordinate(out: &mut Reply, v: f64) {
    let text = format_human(v);
    if out.is_resp3() {
        out.raw(b",");
        out.raw(text.as_bytes());
        out.raw(b"\r\n");
    } else {
        out.bulk(text.as_bytes());
    }
}

/// A distance: four decimals, always a bulk string.
fn distance_reply(out: &mut Reply, d: f64) {
    out.bulk(format_fixed(d, 4).as_bytes());
}

// ----- GEOADD, GEOPOS, GEODIST, GEOHASH -----

/// GEOADD key [NX|XX] [CH] lon lat member ...: checks every point, then
/// runs ZADD with each point's score, as Redis does (so its replies, events
/// and errors are ZADD's).
fn geoadd(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let args = ctx.args;
    let (mut nx, mut xx) = (false, false);
    let mut first = 2;
    while first < args.len() {
        let a = &args[first];
        if is(a, "nx") {
            nx = true;
        } else if is(a, "xx") {
            xx = true;
        } else if !is(a, "ch") {
            break;
        }
        first += 1;
    }
    if (args.len() - first) % 3 != 0 || (xx && nx) {
        return Err(SYNTAX);
    }
    let mut zadd_args: Vec<Bytes> = Vec::with_capacity(first + (args.len() - first) / 3 * 2);
    zadd_args.push(Bytes::from_static(b"zadd"));
    zadd_args.extend_from_slice(&args[1..first]);
    for point in args[first..].chunks(3) {
        let [lon, lat] = lon_lat(&point[0], &point[1])?;
        let score = geohash::score_of(lon, lat);
        zadd_args.push(Bytes::from(score.to_string()));
        zadd_args.push(point[2].clone());
    }
    let mut inner = Ctx {
        server: ctx.server,
        client: &mut *ctx.client,
        args: &zadd_args,
        out: &mut *ctx.out,
        registry: ctx.registry,
    };
    zsets::zadd(&mut inner, db)
}

/// GEOPOS key member ...: each member's position, or a null array.
fn geopos(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let z = read_zset(db, &ctx.args[1])?;
    let members = &ctx.args[2..];
    ctx.out.array(members.len());
    for m in members {
        match z.and_then(|z| member_point(z, m)) {
            Some([lon, lat]) => {
                ctx.out.array(2);
                coordinate(ctx.out, lon);
                coordinate(ctx.out, lat);
            }
            None => ctx.out.null_array(),
        }
    }
    Ok(())
}

/// GEODIST key a b [unit]: the distance between two members, or null.
fn geodist(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let args = ctx.args;
    let to_meters = match args.len() {
        5 => unit(&args[4])?,
        n if n > 5 => return Err(SYNTAX),
        _ => 1.0,
    };
    let Some(z) = read_zset(db, &args[1])? else {
        ctx.out.null();
        return Ok(());
    };
    match (member_point(z, &args[2]), member_point(z, &args[3])) {
        (Some(a), Some(b)) => {
            let d = geohash::distance(a[0], a[1], b[0], b[1]);
            distance_reply(ctx.out, d / to_meters);
        }
        _ => ctx.out.null(),
    }
    Ok(())
}

/// GEOHASH key member ...: each member's standard 11-character geohash.
fn geohash(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let z = read_zset(db, &ctx.args[1])?;
    let members = &ctx.args[2..];
    ctx.out.array(members.len());
    for m in members {
        match z.and_then(|z| z.score(m)) {
            Some(score) => ctx.out.bulk(&geohash::standard_hash(score)),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

// ----- the searches -----

/// Which search command runs: where its centre comes from and what it may
/// store.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Variant {
    /// GEORADIUS (`store`: not the _RO form).
    Radius { store: bool },
    /// GEORADIUSBYMEMBER (`store`: not the _RO form).
    ByMember { store: bool },
    /// GEOSEARCH.
    Search,
    /// GEOSEARCHSTORE.
    SearchStore,
}

impl Variant {
    fn is_search(self) -> bool {
        matches!(self, Variant::Search | Variant::SearchStore)
    }

    /// Whether STORE and STOREDIST take a key (the GEORADIUS forms).
    fn stores_by_option(self) -> bool {
        matches!(
            self,
            Variant::Radius { store: true } | Variant::ByMember { store: true }
        )
    }
}

fn georadius(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    search(ctx, db, Variant::Radius { store: true })
}

fn georadius_ro(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    search(ctx, db, Variant::Radius { store: false })
}

fn georadiusbymember(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    search(ctx, db, Variant::ByMember { store: true })
}

fn georadiusbymember_ro(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    search(ctx, db, Variant::ByMember { store: false })
}

fn geosearch(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    search(ctx, db, Variant::Search)
}

fn geosearchstore(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    search(ctx, db, Variant::SearchStore)
}

/// The order of the results.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Order {
    /// As found.
    None,
    Asc,
    Desc,
}

/// A parsed search.
struct Query<'a> {
    /// Centre, extent and unit; `None` until known (and for a
    /// GEORADIUSBYMEMBER or FROMMEMBER search of a missing key).
    center: Option<[f64; 2]>,
    extent: Option<(Extent, f64)>,
    withdist: bool,
    withhash: bool,
    withcoord: bool,
    order: Order,
    /// 0: no limit.
    count: usize,
    any: bool,
    store: Option<&'a [u8]>,
    storedist: bool,
}

/// A member the search found.
struct Found {
    member: Vec<u8>,
    score: f64,
    point: [f64; 2],
    /// Metres, then the query's unit.
    dist: f64,
}

/// Parses a search's arguments as Redis's shared option loop does, with
/// the source set (if any) for FROMMEMBER and GEORADIUSBYMEMBER's centre.
fn parse<'a>(
    args: &'a [Bytes],
    variant: Variant,
    z: Option<&ZSetValue>,
) -> Result<Query<'a>, CmdError> {
    let mut q = Query {
        center: None,
        extent: None,
        withdist: false,
        withhash: false,
        withcoord: false,
        order: Order::None,
        count: 0,
        any: false,
        store: None,
        storedist: false,
    };
    let base = match variant {
        Variant::Radius { .. } => {
            q.center = Some(lon_lat(&args[2], &args[3])?);
            let (r, to_meters) = radius(&args[4..6])?;
            q.extent = Some((Extent::Radius(r), to_meters));
            6
        }
        Variant::ByMember { .. } => {
            // A missing key skips the centre and radius; the options are
            // still checked.
            if let Some(z) = z {
                q.center = Some(member_point(z, &args[2]).ok_or(NO_MEMBER)?);
                let (r, to_meters) = radius(&args[3..5])?;
                q.extent = Some((Extent::Radius(r), to_meters));
            }
            5
        }
        Variant::Search => 2,
        Variant::SearchStore => {
            q.store = Some(&args[1][..]);
            3
        }
    };
    let search = variant.is_search();
    let (mut frommember, mut fromlonlat, mut byradius, mut bybox) = (false, false, false, false);
    let mut i = base;
    while i < args.len() {
        let a = &args[i];
        let left = args.len() - i - 1;
        if is(a, "withdist") {
            q.withdist = true;
        } else if is(a, "withhash") {
            q.withhash = true;
        } else if is(a, "withcoord") {
            q.withcoord = true;
        } else if is(a, "any") {
            q.any = true;
        } else if is(a, "asc") {
            q.order = Order::Asc;
        } else if is(a, "desc") {
            q.order = Order::Desc;
        } else if is(a, "count") && left >= 1 {
            let n = args::int(&args[i + 1])?;
            if n <= 0 {
                return Err(CmdError::fixed("ERR COUNT must be > 0"));
            }
            q.count = usize::try_from(n).unwrap_or(usize::MAX);
            i += 1;
        } else if (is(a, "store") || is(a, "storedist")) && left >= 1 && variant.stores_by_option()
        {
            q.store = Some(&args[i + 1][..]);
            q.storedist = is(a, "storedist");
            i += 1;
        } else if is(a, "storedist") && variant == Variant::SearchStore {
            q.storedist = true;
        } else if is(a, "frommember") && left >= 1 && search && !fromlonlat {
            if let Some(z) = z {
                q.center = Some(member_point(z, &args[i + 1]).ok_or(NO_MEMBER)?);
            }
            frommember = true;
            i += 1;
        } else if is(a, "fromlonlat") && left >= 2 && search && !frommember {
            q.center = Some(lon_lat(&args[i + 1], &args[i + 2])?);
            fromlonlat = true;
            i += 2;
        } else if is(a, "byradius") && left >= 2 && search && !bybox {
            let (r, to_meters) = radius(&args[i + 1..i + 3])?;
            q.extent = Some((Extent::Radius(r), to_meters));
            byradius = true;
            i += 2;
        } else if is(a, "bybox") && left >= 3 && search && !byradius {
            let (w, h, to_meters) = box_extent(&args[i + 1..i + 4])?;
            q.extent = Some((Extent::Box(w, h), to_meters));
            bybox = true;
            i += 3;
        } else {
            return Err(SYNTAX);
        }
        i += 1;
    }
    if q.store.is_some() && (q.withdist || q.withhash || q.withcoord) {
        return Err(CmdError::new(format!(
            "ERR {} is not compatible with WITHDIST, WITHHASH and WITHCOORD options",
            if variant == Variant::SearchStore {
                "GEOSEARCHSTORE"
            } else {
                "STORE option in GEORADIUS"
            }
        )));
    }
    // The command's name as the client spelled it.
    let name = || args::lossy(&args[0]);
    if search && !(frommember || fromlonlat) {
        return Err(CmdError::new(format!(
            "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for {}",
            name()
        )));
    }
    if search && !(byradius || bybox) {
        return Err(CmdError::new(format!(
            "ERR exactly one of BYRADIUS and BYBOX can be specified for {}",
            name()
        )));
    }
    if q.any && q.count == 0 {
        return Err(CmdError::fixed(
            "ERR the ANY argument requires COUNT argument",
        ));
    }
    Ok(q)
}

/// The members of `z` inside `shape`, in the order Redis finds them: cell
/// by cell (a cell equal to the one scanned just before is skipped), each
/// in score order, stopping once `limit` (if not 0) are found.
fn find(z: &ZSetValue, shape: &Shape, limit: usize) -> Vec<Found> {
    let cells = shape.cells();
    let mut found = Vec::new();
    let full = |found: &Vec<Found>| limit != 0 && found.len() >= limit;
    // Redis remembers the last scanned cell by index, 0 meaning none, so
    // the centre cell itself is never compared.
    let mut last = 0;
    for (i, cell) in cells.iter().enumerate() {
        if cell.is_none() || (last != 0 && *cell == cells[last]) {
            continue;
        }
        if full(&found) {
            break;
        }
        let (min, max) = cell.score_range();
        let (min, max) = (min as f64, max as f64);
        let from = z.count_before(|s, _| s < min);
        z.walk(from, false, |m, s| {
            if s >= max {
                return false;
            }
            let point = geohash::point_of(s);
            if let Some(dist) = shape.contains(point) {
                found.push(Found {
                    member: m.to_vec(),
                    score: s,
                    point,
                    dist,
                });
            }
            !full(&found)
        });
        last = i;
    }
    found
}

/// Redis's comparison of two results by distance (`1`, `0`, `-1`; a NaN
/// distance compares as less in both directions, as in C).
fn by_distance(a: &Found, b: &Found) -> i32 {
    if a.dist > b.dist {
        1
    } else if a.dist == b.dist {
        0
    } else {
        -1
    }
}

/// Sorts `found` by distance so that its first `keep` are the nearest (or
/// farthest). A full sort keeps ties in the order found, as glibc's merge
/// sort does; a partial one (COUNT below the number found) is Redis's
/// partial quicksort, whose order of ties is its own.
fn sort_found(found: &mut [Found], order: Order, keep: usize) {
    let cmp: fn(&Found, &Found) -> i32 = match order {
        Order::None => return,
        Order::Asc => by_distance,
        Order::Desc => |a, b| -by_distance(a, b),
    };
    if keep == found.len() {
        found.sort_by(|a, b| cmp(a, b).cmp(&0));
    } else if keep > 0 {
        partial_sort(found, 0, keep as i64 - 1, |a, b| cmp(a, b).cmp(&0));
    }
}

/// Every search command: GEORADIUS[_RO], GEORADIUSBYMEMBER[_RO], GEOSEARCH
/// and GEOSEARCHSTORE.
fn search(ctx: &mut Ctx<'_>, db: &mut DbView<'_>, variant: Variant) -> CmdResult {
    let args = ctx.args;
    let src = if variant == Variant::SearchStore {
        2
    } else {
        1
    };
    let z = read_zset(db, &args[src])?;
    let q = parse(args, variant, z)?;
    let (Some(z), Some(center), Some((extent, to_meters))) = (z, q.center, q.extent) else {
        // No source set: nothing found (a store deletes its destination).
        match q.store {
            Some(dst) => zsets::store_result(ctx, db, dst, &[], KeyEvent::DEL, false),
            None => ctx.out.array(0),
        }
        return Ok(());
    };
    let shape = Shape {
        center,
        extent,
        to_meters,
    };
    // COUNT without an order means the nearest ones (ANY: the first found).
    let order = if q.count != 0 && q.order == Order::None && !q.any {
        Order::Asc
    } else {
        q.order
    };
    let mut found = find(z, &shape, if q.any { q.count } else { 0 });
    let keep = if q.count == 0 {
        found.len()
    } else {
        found.len().min(q.count)
    };
    sort_found(&mut found, order, keep);
    found.truncate(keep);
    for f in &mut found {
        f.dist /= to_meters;
    }
    if let Some(dst) = q.store {
        let items: Vec<(Vec<u8>, f64)> = found
            .into_iter()
            .map(|f| {
                let score = if q.storedist { f.dist } else { f.score };
                (f.member, score)
            })
            .collect();
        let event = if variant.is_search() {
            KeyEvent::GEOSEARCHSTORE
        } else {
            KeyEvent::GEORADIUSSTORE
        };
        zsets::store_result(ctx, db, dst, &items, event, false);
        return Ok(());
    }
    let extras = usize::from(q.withdist) + usize::from(q.withhash) + usize::from(q.withcoord);
    let out = &mut *ctx.out;
    out.array(found.len());
    for f in &found {
        if extras > 0 {
            out.array(extras + 1);
        }
        out.bulk(&f.member);
        if q.withdist {
            distance_reply(out, f.dist);
        }
        if q.withhash {
            out.int(f.score as i64);
        }
        if q.withcoord {
            out.array(2);
            coordinate(out, f.point[0]);
            coordinate(out, f.point[1]);
        }
    }
    Ok(())
}
