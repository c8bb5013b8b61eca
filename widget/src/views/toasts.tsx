import { useApp, useServices } from './app-context';

/** Messages: refusals (a label rolled back) as alerts, the rest as status. */
export function Toasts() {
  const app = useApp();
  const { store } = useServices();
  return (
    <div className="qs-toasts">
      {app.toasts.map((toast) => (
        <div key={toast.id} className={`qs-toast is-${toast.kind}`} role={toast.kind === 'error' ? 'alert' : 'status'}>
          <span>{toast.text}</span>
          <button type="button" tabIndex={-1} aria-label="Dismiss" onClick={() => store.dismiss(toast.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
