//! Compiles the small C helper that gives INCRBYFLOAT and HINCRBYFLOAT the
//! platform's `long double` arithmetic, as Redis uses.

fn main() {
    println!("cargo:rerun-if-changed=src/longdouble.c");
    cc::Build::new()
        .file("src/longdouble.c")
        .warnings(true)
        .compile("ferrodis_longdouble");
}
