import { pageHeader } from '../ui.js';

export default {
  path: '/ui/guardrails',
  title: 'Guardrails',
  render() { return pageHeader('Guardrails', 'Coming soon.'); },
};
