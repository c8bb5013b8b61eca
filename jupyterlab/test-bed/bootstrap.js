// The test-bed JupyterLab's entry (copied next to the generated app.js by build-host.js).
//
// An installed JupyterLab loads prebuilt ("federated") extensions before its own code runs: the server lists
// them in the page config (`federated_extensions`: name, remoteEntry file, exposed modules, found in the
// labextensions folders on the Jupyter path); each remote entry script defines a Module Federation container
// `window._JUPYTERLAB[name]`, which is initialised with the shared scope so that it and the application agree
// on one copy of each shared package (React, Lumino, @jupyter-widgets/base…). Only then is the application
// module imported. Webpack's container interface: https://webpack.js.org/concepts/module-federation/

function pageOption(name) {
  const element = document.getElementById('jupyter-config-data');
  const config = element ? JSON.parse(element.textContent || '{}') : {};
  return config[name] || '';
}

// Chunks load from the server's static URL (the page config knows it; the build cannot).
// eslint-disable-next-line no-undef
__webpack_public_path__ = `${pageOption('fullStaticUrl')}/`;

function loadScript(url) {
  return new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.async = true;
    script.onload = resolve;
    script.onerror = () => reject(new Error(`test bed: could not load ${url}`));
    script.src = url;
    document.head.appendChild(script);
  });
}

async function loadContainer(extension) {
  await loadScript(`${pageOption('fullLabextensionsUrl')}/${extension.name}/${extension.load}`);
  // eslint-disable-next-line no-undef
  await __webpack_init_sharing__('default');
  // eslint-disable-next-line no-undef
  await window._JUPYTERLAB[extension.name].init(__webpack_share_scopes__.default);
}

void (async () => {
  const federated = pageOption('federated_extensions') || [];
  const loaded = await Promise.allSettled(federated.map(loadContainer));
  for (const result of loaded) if (result.status === 'rejected') console.error(result.reason);
  const { main } = await import('./app.js');
  if (document.readyState === 'complete') void main();
  else window.addEventListener('load', () => void main());
})();
