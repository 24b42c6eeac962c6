// The `nodejs_als` compatibility flag provides node:async_hooks' AsyncLocalStorage and nothing
// else of Node, so this declares just that instead of pulling in all of @types/node.
declare module 'node:async_hooks' {
  export class AsyncLocalStorage<T> {
    getStore(): T | undefined;
    run<R>(store: T, callback: () => R): R;
  }
}
