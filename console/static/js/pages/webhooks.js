import { pageHeader } from '../ui.js';

export default {
  path: '/ui/webhooks',
  title: 'Webhooks',
  render() { return pageHeader('Webhooks', 'Coming soon.'); },
};
