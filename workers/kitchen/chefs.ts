/** The chefs of one kitchen: a ticket waits for a free chef; the brigade can grow or shrink while it works. */
export interface Chefs {
  readonly count: number;
  readonly busy: number;
  /** Resolves when a chef is free; call the returned function when the dish is done. */
  acquire(): Promise<() => void>;
  resize(count: number): void;
}

export function createChefs(initial: number): Chefs {
  let count = initial;
  let busy = 0;
  const waiting: Array<() => void> = [];
  const dispatch = () => {
    while (busy < count && waiting.length > 0) {
      busy++;
      waiting.shift()!();
    }
  };
  return {
    get count() {
      return count;
    },
    get busy() {
      return busy;
    },
    acquire() {
      return new Promise((resolve) => {
        waiting.push(() => {
          let released = false;
          resolve(() => {
            if (released) return;
            released = true;
            busy--;
            dispatch();
          });
        });
        dispatch();
      });
    },
    resize(next) {
      count = next;
      dispatch();
    },
  };
}
