//! Benchmark B9's anchor: an empty Tauri window, built like the app (same
//! Tauri, same WebKitGTK, same configuration) but showing a blank page that
//! reports its first paint. Prints `ready` on stdout when it has painted.
//!
//! `cargo build --release -p kith-app --features custom-protocol --example blank`
#![forbid(unsafe_code)]

use tauri::{WebviewUrl, WebviewWindowBuilder};

#[tauri::command]
fn ready() {
    kith_app_lib::report_ready();
}

fn main() {
    let mut context = tauri::generate_context!();
    context.config_mut().app.windows.clear();
    let result = tauri::Builder::default()
        .invoke_handler(tauri::generate_handler![ready])
        .setup(|app| {
            WebviewWindowBuilder::new(app, "main", WebviewUrl::App("blank.html".into()))
                .title("blank")
                .inner_size(1000.0, 700.0)
                .build()?;
            Ok(())
        })
        .run(context);
    if let Err(e) = result {
        #[allow(clippy::print_stderr)]
        {
            eprintln!("blank: {e}");
        }
        std::process::exit(1);
    }
}
