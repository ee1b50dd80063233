from localcloud.cli import main

main()
