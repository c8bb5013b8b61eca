import type { BufferPath, KernelRuntime } from '../comms';
import { WIDGET_CONTROL_TARGET } from './any-widget';

/**
 * The `jupyter.widget.control` comm target (ipywidgets "Control Widget messaging protocol", 1.0): a front
 * end that reconnects (a reloaded page) asks for every live widget's state in one `request_states`, and
 * gets one `update_states` back, with buffer paths prefixed by the model id. Registered by the kernel host
 * at start, so widgets come back even if no cell touched the widget API since.
 */
export function registerWidgetControl(runtime: KernelRuntime): () => void {
  return runtime.comms.registerTarget(WIDGET_CONTROL_TARGET, (comm) => {
    comm.onMessage(({ data }) => {
      if (data.method !== 'request_states') {
        runtime.log(`${WIDGET_CONTROL_TARGET}: ignored a message with method ${JSON.stringify(data.method)}; only request_states is defined`);
        return;
      }
      const states: Record<string, unknown> = {};
      const bufferPaths: BufferPath[] = [];
      const buffers: Uint8Array[] = [];
      for (const [id, model] of runtime.widgets) {
        const serialized = model.serializeState();
        // The shape front ends read (@jupyter-widgets/base-manager `_loadFromKernel`, as ipywidgets'
        // `_handle_control_comm_msg` sends it): each model's class beside its state, buffer paths from the
        // model id through `state`. A bare state makes the manager look up module `undefined`.
        const state = serialized.state as Record<string, unknown>;
        states[id] = { model_name: state._model_name, model_module: state._model_module, model_module_version: state._model_module_version, state };
        serialized.bufferPaths.forEach((path, index) => {
          bufferPaths.push([id, 'state', ...path]);
          buffers.push(serialized.buffers[index]!);
        });
      }
      comm.send({ method: 'update_states', states, buffer_paths: bufferPaths }, { buffers });
    });
  });
}
