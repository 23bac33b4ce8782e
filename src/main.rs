//! The `bincimap` command line (stub; being written).

fn main() {
    println!("bincimap");
}
