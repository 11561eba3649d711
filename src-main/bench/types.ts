/** One benchmark: `run` returns named figures (numbers with their unit in the key, or short strings). */
export interface Bench {
  name: string;
  run(): Promise<Record<string, number | string>>;
}
