/** How the engine counts in its messages: "1 image", "2 images", "0 Scope apps". */
export const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;
