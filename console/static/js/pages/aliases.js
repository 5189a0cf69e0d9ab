import { pageHeader } from '../ui.js';

export default {
  path: '/ui/aliases',
  title: 'Model aliases',
  render() { return pageHeader('Model aliases', 'Coming soon.'); },
};
