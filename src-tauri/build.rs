//! Tauri's build step: the config, capabilities and icons.

fn main() {
    tauri_build::build();
}
