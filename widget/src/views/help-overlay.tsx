import { useEffect, useRef } from 'react';
import { KEY_HELP } from '../client/keymap';

/** The keys, over the app (h or Esc closes it). */
export function HelpOverlay({ onClose }: { onClose: () => void }) {
  const close = useRef<HTMLButtonElement>(null);
  useEffect(() => close.current?.focus(), []);
  return (
    <div className="qs-overlay" role="dialog" aria-modal="true" aria-label="Keyboard help" onClick={onClose}>
      <div className="qs-help" onClick={(event) => event.stopPropagation()}>
        <div className="qs-help-head">
          <h2>Keys</h2>
          <button ref={close} type="button" className="qs-button" onClick={onClose} aria-label="Close help">
            Close <kbd>Esc</kbd>
          </button>
        </div>
        <table className="qs-table">
          <tbody>
            {KEY_HELP.map((row) => (
              <tr key={row.keys}>
                <th scope="row">
                  <kbd>{row.keys}</kbd>
                </th>
                <td>{row.what}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
