// Reports the first paint of the empty window (benchmark B9's anchor).
requestAnimationFrame(() => requestAnimationFrame(() => window.__TAURI_INTERNALS__.invoke("ready")));
