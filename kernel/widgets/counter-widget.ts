import { AnyWidget } from './any-widget';

/**
 * The front end of {@link CounterWidget}: an anywidget front-end module. A button shows the count and adds
 * one on click (a state update to the kernel); a custom message from the kernel flashes it.
 */
export const COUNTER_ESM = `
export default {
  render({ model, el }) {
    const button = document.createElement('button');
    button.className = 'quicksort-counter';
    const show = () => { button.textContent = 'count is ' + model.get('count'); };
    const onClick = () => { model.set('count', model.get('count') + 1); model.save_changes(); };
    const onMessage = (message) => {
      if (message && message.type === 'flash') {
        button.classList.add('flash');
        setTimeout(() => button.classList.remove('flash'), 300);
      }
    };
    button.addEventListener('click', onClick);
    model.on('change:count', show);
    model.on('msg:custom', onMessage);
    show();
    el.appendChild(button);
    return () => {
      button.removeEventListener('click', onClick);
      model.off('change:count', show);
      model.off('msg:custom', onMessage);
    };
  },
};
`;

export const COUNTER_CSS = `.quicksort-counter { font: inherit; padding: 4px 12px; } .quicksort-counter.flash { outline: 2px solid orange; }`;

export interface CounterState {
  count: number;
}

/** Custom messages a counter's front end may send: `reset` sets the count back to zero. */
export type CounterRequest = { type: 'reset' };

/** Custom messages the kernel sends to a counter's front end. */
export type CounterNotice = { type: 'flash' };

/**
 * The smallest useful widget, and the template for new ones: a count synced both ways, a custom message
 * each way.
 *
 * @example
 * import { CounterWidget } from 'quicksort/kernel';
 * const counter = new CounterWidget(3);
 * counter.on('change:count', (count) => console.log('now', count));
 * counter; // shows the button
 */
export class CounterWidget extends AnyWidget<CounterState, CounterNotice, CounterRequest> {
  constructor(count = 0) {
    super({ esm: COUNTER_ESM, css: COUNTER_CSS, state: { count }, label: `CounterWidget(count=${count})` });
    this.on('msg:custom', (message) => {
      if (message?.type === 'reset') this.set('count', 0);
    });
  }

  get count(): number {
    return this.get('count');
  }

  increment(by = 1): void {
    this.set('count', this.get('count') + by);
  }

  /** Asks the views to flash (a custom message to the front end). */
  flash(): void {
    this.send({ type: 'flash' });
  }
}
