//! Compiles the small C helpers: the platform's `long double` arithmetic
//! for INCRBYFLOAT and HINCRBYFLOAT, and libc's `strtod` for SORT's
//! weights, as Redis uses them.

fn main() {
    println!("cargo:rerun-if-changed=src/longdouble.c");
    println!("cargo:rerun-if-changed=src/cstrtod.c");
    cc::Build::new()
        .file("src/longdouble.c")
        .file("src/cstrtod.c")
        .warnings(true)
        .compile("ferrodis_c");
}
