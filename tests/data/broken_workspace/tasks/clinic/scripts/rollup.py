print('rollup')
