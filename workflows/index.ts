/** Every workflow the orchestration worker runs. */
export { smokeCallWorkflow } from './smoke-call.js';
