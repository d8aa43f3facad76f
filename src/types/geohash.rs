//! Redis's geohash: the 52-bit interleaved cell a geo member's score
//! holds, its decoding back to a point, the haversine distance, and the
//! cover of a search shape by a cell and its eight neighbours.
//!
//! Not a type of its own but a layout of sorted-set scores. Every number
//! here is computed in the order Redis computes it (the same operations on
//! the same doubles, through the same libm functions), because the
//! coordinates, distances and cell choices Redis replies with are visible
//! to clients byte for byte.

use std::f64::consts::PI;

/// Bits per coordinate of a stored score (26 × 2 = 52, a double's mantissa).
pub const STEP_MAX: u8 = 26;
/// The southern limit of what can be indexed (EPSG:900913).
pub const LAT_MIN: f64 = -85.05112878;
/// The northern limit of what can be indexed.
pub const LAT_MAX: f64 = 85.05112878;
/// The western limit.
pub const LONG_MIN: f64 = -180.0;
/// The eastern limit.
pub const LONG_MAX: f64 = 180.0;
/// Redis's earth radius for distances (the WGS-84 quadratic mean).
pub const EARTH_RADIUS_M: f64 = 6372797.560856;
/// The half-width of the Mercator plane, the step estimate's yardstick.
const MERCATOR_MAX: f64 = 20037726.37;
/// Degrees to radians, as Redis's `D_R` (π/180 rounded once).
const D_R: f64 = PI / 180.0;

fn deg_rad(deg: f64) -> f64 {
    deg * D_R
}

fn rad_deg(rad: f64) -> f64 {
    rad / D_R
}

/// A cell: `step` bits of each coordinate, interleaved (latitude in the
/// even bits, longitude in the odd ones). Bits 0 at step 0 is "no cell".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cell {
    /// The interleaved bits, `2 * step` of them.
    pub bits: u64,
    /// Bits per coordinate.
    pub step: u8,
}

impl Cell {
    /// The empty cell (a neighbour left out of a search).
    pub const NONE: Cell = Cell { bits: 0, step: 0 };

    /// True for [`Cell::NONE`].
    pub fn is_none(&self) -> bool {
        self.bits == 0 && self.step == 0
    }

    /// The cell's bits left-aligned to 52 bits: the lowest score inside it.
    pub fn align52(&self) -> u64 {
        self.bits << (52 - u32::from(self.step) * 2)
    }

    /// The scores of the members inside the cell: `[min, max)`.
    pub fn score_range(&self) -> (u64, u64) {
        let next = Cell {
            bits: self.bits.wrapping_add(1),
            step: self.step,
        };
        (self.align52(), next.align52())
    }
}

/// A closed interval of one coordinate.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Span {
    /// Lower end.
    pub min: f64,
    /// Upper end.
    pub max: f64,
}

/// The rectangle a cell covers.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Area {
    /// Longitudes.
    pub lon: Span,
    /// Latitudes.
    pub lat: Span,
}

/// Redis's indexing ranges (latitude limited to Mercator's).
const WGS84: (Span, Span) = (
    Span {
        min: LONG_MIN,
        max: LONG_MAX,
    },
    Span {
        min: LAT_MIN,
        max: LAT_MAX,
    },
);

/// The standard geohash ranges GEOHASH strings are written in.
const STANDARD: (Span, Span) = (
    Span {
        min: -180.0,
        max: 180.0,
    },
    Span {
        min: -90.0,
        max: 90.0,
    },
);

/// Spreads the 32 bits of `v` over the even bits of a u64.
fn spread(v: u32) -> u64 {
    let mut x = u64::from(v);
    x = (x | (x << 16)) & 0x0000_FFFF_0000_FFFF;
    x = (x | (x << 8)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | (x << 2)) & 0x3333_3333_3333_3333;
    (x | (x << 1)) & 0x5555_5555_5555_5555
}

/// Gathers the even bits of `v` into 32 bits (the inverse of [`spread`]).
fn gather(v: u64) -> u64 {
    let mut x = v & 0x5555_5555_5555_5555;
    x = (x | (x >> 1)) & 0x3333_3333_3333_3333;
    x = (x | (x >> 2)) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | (x >> 4)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x >> 8)) & 0x0000_FFFF_0000_FFFF;
    (x | (x >> 16)) & 0x0000_0000_FFFF_FFFF
}

/// The cell of `step` bits holding the point, within `ranges`; `None` for a
/// point outside Redis's limits or the ranges, or a step out of 1..=32.
fn encode_in(ranges: (Span, Span), lon: f64, lat: f64, step: u8) -> Option<Cell> {
    let (lon_r, lat_r) = ranges;
    if step == 0 || step > 32 {
        return None;
    }
    if !(LONG_MIN..=LONG_MAX).contains(&lon) || !(LAT_MIN..=LAT_MAX).contains(&lat) {
        return None;
    }
    if lat < lat_r.min || lat > lat_r.max || lon < lon_r.min || lon > lon_r.max {
        return None;
    }
    let scale = (1u64 << step) as f64;
    let lat_offset = (lat - lat_r.min) / (lat_r.max - lat_r.min) * scale;
    let lon_offset = (lon - lon_r.min) / (lon_r.max - lon_r.min) * scale;
    // The offsets lie in [0, 2^step]: truncation as C's cast does.
    Some(Cell {
        bits: spread(lat_offset as u32) | (spread(lon_offset as u32) << 1),
        step,
    })
}

/// The cell of `step` bits holding the point (Redis's ranges).
pub fn encode(lon: f64, lat: f64, step: u8) -> Option<Cell> {
    encode_in(WGS84, lon, lat, step)
}

/// The score GEOADD stores for a point already checked to be in range.
pub fn score_of(lon: f64, lat: f64) -> u64 {
    encode(lon, lat, STEP_MAX).map_or(0, |c| c.align52())
}

/// The rectangle `cell` covers within `ranges`.
fn decode_in(ranges: (Span, Span), cell: Cell) -> Area {
    let (lon_r, lat_r) = ranges;
    let sep = gather(cell.bits) | (gather(cell.bits >> 1) << 32);
    let lat_cells = sep as u32;
    let lon_cells = (sep >> 32) as u32;
    let div = (1u64 << cell.step) as f64;
    let lat_scale = lat_r.max - lat_r.min;
    let lon_scale = lon_r.max - lon_r.min;
    // `+ 1` wraps in 32 bits, as Redis's unsigned arithmetic does.
    let edge = |n: u32, min: f64, scale: f64| min + (f64::from(n) / div) * scale;
    Area {
        lat: Span {
            min: edge(lat_cells, lat_r.min, lat_scale),
            max: edge(lat_cells.wrapping_add(1), lat_r.min, lat_scale),
        },
        lon: Span {
            min: edge(lon_cells, lon_r.min, lon_scale),
            max: edge(lon_cells.wrapping_add(1), lon_r.min, lon_scale),
        },
    }
}

/// The rectangle `cell` covers (Redis's ranges).
pub fn decode(cell: Cell) -> Area {
    decode_in(WGS84, cell)
}

/// C's `(uint64_t)` of a double as x86-64 code computes it: values below
/// 2^63 through a signed conversion (negative ones wrap, out-of-range ones
/// give 2^63), larger ones offset by 2^63 first.
fn c_u64(score: f64) -> u64 {
    const TWO63: f64 = 9_223_372_036_854_775_808.0;
    if score.is_nan() {
        return 1 << 63;
    }
    if score < TWO63 {
        (score as i64) as u64
    } else {
        let rest = score - TWO63;
        let low = if rest < TWO63 {
            rest as i64 as u64
        } else {
            1 << 63
        };
        low ^ (1 << 63)
    }
}

/// The point a member's score stands for: its 52-bit cell's centre, held
/// within Redis's limits (any score decodes, as in Redis).
pub fn point_of(score: f64) -> [f64; 2] {
    let area = decode(Cell {
        bits: c_u64(score),
        step: STEP_MAX,
    });
    let lon = ((area.lon.min + area.lon.max) / 2.0).clamp(LONG_MIN, LONG_MAX);
    let lat = ((area.lat.min + area.lat.max) / 2.0).clamp(LAT_MIN, LAT_MAX);
    [lon, lat]
}

/// The 11-character standard geohash of a member's score (GEOHASH): the
/// point re-encoded in the standard ranges, the last character always `0`
/// (52 bits fill only ten).
pub fn standard_hash(score: f64) -> [u8; 11] {
    const ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let [lon, lat] = point_of(score);
    let bits = encode_in(STANDARD, lon, lat, STEP_MAX).map_or(0, |c| c.bits);
    let mut out = [b'0'; 11];
    for (i, c) in out.iter_mut().take(10).enumerate() {
        let idx = (bits >> (52 - (i + 1) * 5)) & 0x1f;
        *c = ALPHABET[idx as usize];
    }
    out
}

/// Moves a cell one step along one coordinate (wrapping): `axis` masks
/// that coordinate's bits (odd ones for longitude, even for latitude),
/// `d > 0` east or north, `d < 0` west or south.
fn move_along(cell: &mut Cell, d: i8, axis: u64) {
    if d == 0 {
        return;
    }
    let shift = 64 - u32::from(cell.step) * 2;
    let mut moving = cell.bits & axis;
    let kept = cell.bits & !axis;
    // The other coordinate's bits: filling them makes a carry (or borrow)
    // run through to the next bit of this one.
    let zz = !axis >> shift;
    if d > 0 {
        moving = moving.wrapping_add(zz + 1);
    } else {
        moving = (moving | zz).wrapping_sub(zz + 1);
    }
    moving &= axis >> shift;
    cell.bits = moving | kept;
}

/// Longitude bits (odd).
const LON_BITS: u64 = 0xaaaa_aaaa_aaaa_aaaa;
/// Latitude bits (even).
const LAT_BITS: u64 = 0x5555_5555_5555_5555;

fn neighbour(cell: Cell, dx: i8, dy: i8) -> Cell {
    let mut c = cell;
    move_along(&mut c, dx, LON_BITS);
    move_along(&mut c, dy, LAT_BITS);
    c
}

/// Distance in metres between two points on a meridian.
pub fn lat_distance(lat1: f64, lat2: f64) -> f64 {
    EARTH_RADIUS_M * (deg_rad(lat2) - deg_rad(lat1)).abs()
}

/// Great-circle distance in metres (haversine, Redis's earth radius).
pub fn distance(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let v = ((deg_rad(lon2) - deg_rad(lon1)) / 2.0).sin();
    if v == 0.0 {
        return lat_distance(lat1, lat2);
    }
    let lat1r = deg_rad(lat1);
    let lat2r = deg_rad(lat2);
    let u = ((lat2r - lat1r) / 2.0).sin();
    let a = u * u + lat1r.cos() * lat2r.cos() * v * v;
    2.0 * EARTH_RADIUS_M * a.sqrt().asin()
}

/// What a search covers, in the unit it was given.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Extent {
    /// BYRADIUS (and GEORADIUS): a circle.
    Radius(f64),
    /// BYBOX: a rectangle, width and height.
    Box(f64, f64),
}

/// A search: its centre, its extent and the unit's size in metres.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Shape {
    /// Longitude and latitude of the centre.
    pub center: [f64; 2],
    /// The extent, in the query's unit.
    pub extent: Extent,
    /// Metres per unit.
    pub to_meters: f64,
}

impl Shape {
    /// Longitude min, latitude min, longitude max, latitude max of the
    /// area to cover (wider at the edge nearer the pole).
    fn bounding_box(&self) -> [f64; 4] {
        let [lon, lat] = self.center;
        let (half_h, half_w) = match self.extent {
            Extent::Radius(r) => (r, r),
            Extent::Box(w, h) => (h / 2.0, w / 2.0),
        };
        let height = self.to_meters * half_h;
        let width = self.to_meters * half_w;
        let lat_delta = rad_deg(height / EARTH_RADIUS_M);
        let lon_delta_top = rad_deg(width / EARTH_RADIUS_M / deg_rad(lat + lat_delta).cos());
        let lon_delta_bottom = rad_deg(width / EARTH_RADIUS_M / deg_rad(lat - lat_delta).cos());
        let lon_delta = if lat < 0.0 {
            lon_delta_bottom
        } else {
            lon_delta_top
        };
        [
            lon - lon_delta,
            lat - lat_delta,
            lon + lon_delta,
            lat + lat_delta,
        ]
    }

    /// The cells to scan, in Redis's order: the centre's cell, then north,
    /// south, east, west, north-east, north-west, south-east, south-west
    /// ([`Cell::NONE`] for those the shape cannot reach).
    pub fn cells(&self) -> [Cell; 9] {
        let bounds = self.bounding_box();
        let [min_lon, min_lat, max_lon, max_lat] = bounds;
        let [lon, lat] = self.center;
        let radius = match self.extent {
            Extent::Radius(r) => r,
            Extent::Box(w, h) => ((w / 2.0) * (w / 2.0) + (h / 2.0) * (h / 2.0)).sqrt(),
        } * self.to_meters;
        let mut step = estimate_step(radius, lat);
        let mut center = encode(lon, lat, step).unwrap_or_default();
        let around = |c: Cell| {
            [
                neighbour(c, 0, 1),
                neighbour(c, 0, -1),
                neighbour(c, 1, 0),
                neighbour(c, -1, 0),
                neighbour(c, 1, 1),
                neighbour(c, -1, 1),
                neighbour(c, 1, -1),
                neighbour(c, -1, -1),
            ]
        };
        let mut n = around(center);
        // A step whose neighbours fall short of the box is one too fine.
        let too_fine = decode(n[0]).lat.max < max_lat
            || decode(n[1]).lat.min > min_lat
            || decode(n[2]).lon.max < max_lon
            || decode(n[3]).lon.min > min_lon;
        if step > 1 && too_fine {
            step -= 1;
            center = encode(lon, lat, step).unwrap_or_default();
            n = around(center);
        }
        let area = decode(center);
        if step >= 2 {
            let [north, south, east, west, ne, nw, se, sw] = &mut n;
            if area.lat.min < min_lat {
                *south = Cell::NONE;
                *sw = Cell::NONE;
                *se = Cell::NONE;
            }
            if area.lat.max > max_lat {
                *north = Cell::NONE;
                *ne = Cell::NONE;
                *nw = Cell::NONE;
            }
            if area.lon.min < min_lon {
                *west = Cell::NONE;
                *sw = Cell::NONE;
                *nw = Cell::NONE;
            }
            if area.lon.max > max_lon {
                *east = Cell::NONE;
                *se = Cell::NONE;
                *ne = Cell::NONE;
            }
        }
        [center, n[0], n[1], n[2], n[3], n[4], n[5], n[6], n[7]]
    }

    /// The distance in metres from the centre to `point` if the shape
    /// holds it.
    pub fn contains(&self, point: [f64; 2]) -> Option<f64> {
        let [x1, y1] = self.center;
        let [x2, y2] = point;
        match self.extent {
            Extent::Radius(r) => {
                let d = distance(x1, y1, x2, y2);
                // Only a distance past the radius is out (a NaN one, at
                // the antipode, is kept as Redis keeps it).
                match d.partial_cmp(&(r * self.to_meters)) {
                    Some(std::cmp::Ordering::Greater) => None,
                    _ => Some(d),
                }
            }
            Extent::Box(w, h) => {
                let (width, height) = (w * self.to_meters, h * self.to_meters);
                // The cheaper latitude test first, as Redis does.
                if lat_distance(y2, y1) > height / 2.0 {
                    return None;
                }
                if distance(x2, y2, x1, y2) > width / 2.0 {
                    return None;
                }
                Some(distance(x1, y1, x2, y2))
            }
        }
    }
}

/// The step of the nine cells for a search of `radius` metres around
/// latitude `lat`: the finest whose cells still span the radius, coarser
/// near the poles.
fn estimate_step(radius: f64, lat: f64) -> u8 {
    if radius == 0.0 {
        return 26;
    }
    let mut range = radius;
    let mut step: i32 = 1;
    while range < MERCATOR_MAX {
        range *= 2.0;
        step += 1;
    }
    step -= 2;
    if !(-66.0..=66.0).contains(&lat) {
        step -= 1;
        if !(-80.0..=80.0).contains(&lat) {
            step -= 1;
        }
    }
    step.clamp(1, 26) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleaving_round_trips() {
        for v in [0u32, 1, 0x1234_5678, u32::MAX] {
            assert_eq!(gather(spread(v)), u64::from(v));
        }
        assert_eq!(spread(0b11), 0b101);
    }

    #[test]
    fn scores_and_points_match_redis() {
        // GEOADD Sicily 13.361389 38.115556 "Palermo": Redis stores
        // 3479099956230698 and GEOPOS answers 13.36138933897018433 and
        // 38.11555639549629859; GEOHASH says sqc8b49rny0.
        let s = score_of(13.361389, 38.115556);
        assert_eq!(s, 3479099956230698);
        let [lon, lat] = point_of(s as f64);
        assert_eq!(format!("{lon:.17}"), "13.36138933897018433");
        assert_eq!(format!("{lat:.17}"), "38.11555639549629859");
        assert_eq!(&standard_hash(s as f64), b"sqc8b49rny0");
    }

    #[test]
    fn distances_match_redis() {
        // GEODIST Sicily Palermo Catania: 166274.1516 m.
        let p = point_of(score_of(13.361389, 38.115556) as f64);
        let c = point_of(score_of(15.087269, 37.502669) as f64);
        let d = distance(p[0], p[1], c[0], c[1]);
        assert!((d - 166274.1516).abs() < 1e-4, "{d}");
    }

    #[test]
    fn steps_follow_the_radius() {
        assert_eq!(estimate_step(0.0, 0.0), 26);
        assert_eq!(estimate_step(f64::INFINITY, 0.0), 1);
        assert!(estimate_step(1000.0, 0.0) > estimate_step(100_000.0, 0.0));
        assert_eq!(estimate_step(1000.0, 70.0) + 1, estimate_step(1000.0, 0.0));
    }

    #[test]
    fn negative_scores_wrap_as_in_c() {
        assert_eq!(c_u64(-1.0), u64::MAX);
        assert_eq!(c_u64(1e30), 0);
        assert_eq!(c_u64(3.0), 3);
    }
}
